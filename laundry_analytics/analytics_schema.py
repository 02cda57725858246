"""The analytics schema from Python: its name in SQL, and the tables the project
creates there outside dbt (analytics_cache, report_schedules, report_deliveries,
pipeline_alerts).

Those tables are created once per process and database (`ensure`), not on every
call: the report sensor asks every minute. A CHECK constraint listing allowed
values that come from code (the registered payload types) is compared with the
database's and replaced when it differs (`sync_allowed_values`), so a database
created before a type was added accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import psycopg
from psycopg import sql

from laundry_analytics import settings as settings_module

_ensured: set[tuple] = set()


def identifier() -> sql.Identifier:
    """The analytics schema (LAUNDRY_ANALYTICS_SCHEMA) as an SQL identifier."""
    return sql.Identifier(settings_module.load().analytics_schema)


def compose(query: str, **parts: sql.Composable) -> sql.Composed:
    """A query over the analytics schema: {a} is the schema, other {names} are parts."""
    return sql.SQL(query).format(a=identifier(), **parts)


def ensure(
    conn: psycopg.Connection, name: str, create: Callable[[psycopg.Connection], None], *, version: Iterable = ()
) -> None:
    """Run `create(conn)` (idempotent DDL, then commit) unless it already ran in this
    process for this database, schema and `version` (e.g. the allowed values of a
    constraint). It is not remembered while the analyst role is missing: the grants
    to it are made once dbt has created it."""
    cfg = settings_module.load()
    key = (conn.info.host, conn.info.port, conn.info.dbname, cfg.analytics_schema, name, tuple(version))
    if key in _ensured:
        return
    conn.execute(sql.SQL("create schema if not exists {}").format(identifier()))
    create(conn)
    conn.commit()
    if analyst_role_exists(conn):
        _ensured.add(key)


def analyst_role_exists(conn: psycopg.Connection) -> bool:
    role = settings_module.load().analyst_role
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def grant_to_analysts(conn: psycopg.Connection, *tables: str) -> None:
    """Let the analyst role read these tables of the analytics schema (when it exists)."""
    if not analyst_role_exists(conn):
        return
    role = sql.Identifier(settings_module.load().analyst_role)
    for table in tables:
        conn.execute(sql.SQL("grant select on {}.{} to {}").format(identifier(), sql.Identifier(table), role))


def sync_allowed_values(conn: psycopg.Connection, table: str, column: str, values: Iterable[str]) -> None:
    """Make the CHECK constraint `<table>_<column>_check` allow exactly `values`,
    replacing it when the database has another list. Rows that hold a value no
    longer allowed stay (NOT VALID): new rows are checked."""
    values = tuple(values)
    constraint = f"{table}_{column}_check"
    row = conn.execute(
        """
        select pg_get_constraintdef(c.oid) from pg_constraint c
        join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = %s and t.relname = %s and c.conname = %s
    """,
        (settings_module.load().analytics_schema, table, constraint),
    ).fetchone()
    if row is not None and set(re.findall(r"'((?:[^']|'')*)'::text", row[0])) == set(values):
        return
    conn.execute(
        compose(
            "alter table {a}.{table} drop constraint if exists {name}, "
            "add constraint {name} check ({column} in ({values})) not valid",
            table=sql.Identifier(table),
            name=sql.Identifier(constraint),
            column=sql.Identifier(column),
            values=sql.SQL(", ").join(map(sql.Literal, values)),
        )
    )
