"""The project's own DDL for the operational `ops` schema (DESIGN.md source contract)."""

from __future__ import annotations

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
