"""The project's own DDL for the operational `ops` schema (the source contract in docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

#: Source tables in foreign-key order: parents before children.
OPS_TABLES = (
    "users",
    "partners",
    "service_categories",
    "services",
    "orders",
    "order_items",
    "payments",
    "refunds",
    "reviews",
    "order_issues",
)

#: The payment methods the marketplace knows (ops.payments.method). Staging flags any
#: other value as unknown_method; the marts have a column per method. The dbt models
#: read the same list from the dbt var `payment_methods` (dbt_project.yml).
PAYMENT_METHODS = ("cash", "card", "wallet", "online")


def ddl(schema: str) -> str:
    """The DDL text for `schema`, with the name quoted as an identifier."""
    text = (Path(__file__).parent / "sql" / "ops_schema.sql").read_text()
    return text.replace("{schema}", sql.Identifier(schema).as_string(None))


def create_ops_schema(conn: psycopg.Connection, schema: str) -> None:
    """Create the ops schema and its tables; running it again changes nothing."""
    with conn.transaction():
        conn.execute(ddl(schema))


def truncate_ops_schema(conn: psycopg.Connection, schema: str) -> None:
    """Empty every ops table (used before loading a fresh generated dataset)."""
    tables = sql.SQL(", ").join(sql.Identifier(schema, t) for t in OPS_TABLES)
    with conn.transaction():
        conn.execute(sql.SQL("truncate {} cascade").format(tables))


@contextmanager
def bulk_load(conn: psycopg.Connection, schema: str) -> Iterator[None]:
    """Inside the caller's transaction: drop the foreign keys and secondary indexes
    of the ops tables, let the caller COPY, then recreate them. Checking a foreign
    key or maintaining an index once per table is much faster than once per row,
    and the recreated foreign keys still validate every loaded row."""
    foreign_keys = conn.execute(
        """
        select c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where n.nspname = %s and c.contype = 'f'
        """,
        (schema,),
    ).fetchall()
    indexes = conn.execute(
        """
        select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = %s and not i.indisunique and not i.indisprimary
        """,
        (schema,),
    ).fetchall()
    for table, name, _ in foreign_keys:
        conn.execute(sql.SQL("alter table {} drop constraint {}").format(sql.SQL(table), sql.Identifier(name)))
    for index, _ in indexes:
        conn.execute(sql.SQL("drop index {}").format(sql.SQL(index)))
    yield
    for _, definition in indexes:
        conn.execute(definition)
    for table, name, definition in foreign_keys:
        conn.execute(
            sql.SQL("alter table {} add constraint {} {}").format(
                sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
            )
        )
