"""The load step: replace the ops data in one transaction, table by table, with COPY."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import psycopg
from psycopg import sql

from laundry_analytics.generate.columns import Formatted, Table
from laundry_analytics.ops_schema import bulk_load, truncate_ops_schema

COPY_CHUNK = 100_000


def _text(column: np.ndarray | Formatted, begin: int, end: int) -> np.ndarray:
    if isinstance(column, Formatted):
        return column.text(begin, end)
    part = column[begin:end]
    # Python str objects join far faster than numpy's fixed-width strings.
    return part if part.dtype == object else part.astype(str).astype(object)


class Loader:
    """COPYs tables into the schema and counts the rows loaded per table."""

    def __init__(self, cursor: psycopg.Cursor, schema: str):
        self.cursor = cursor
        self.schema = schema
        self.rows: dict[str, int] = {}

    def copy(self, table: str, data: Table) -> int:
        """COPY the column arrays of `data` into schema.table, as text rows in chunks."""
        statement = sql.SQL("copy {} ({}) from stdin").format(
            sql.Identifier(self.schema, table), sql.SQL(", ").join(map(sql.Identifier, data))
        )
        columns = list(data.values())
        n = len(columns[0])
        with self.cursor.copy(statement) as copy:
            for begin in range(0, n, COPY_CHUNK):
                block = [_text(column, begin, begin + COPY_CHUNK) for column in columns]
                copy.write("\n".join(map("\t".join, zip(*block))) + "\n")
        self.rows[table] = self.rows.get(table, 0) + n
        return n


@contextmanager
def replacing_ops_data(conn: psycopg.Connection, schema: str) -> Iterator[Loader]:
    """One transaction that empties the ops tables, lets the caller COPY, then
    rebuilds foreign keys and indexes once: on failure nothing is half-loaded."""
    with conn.transaction(), conn.cursor() as cursor, bulk_load(conn, schema):
        truncate_ops_schema(conn, schema)
        yield Loader(cursor, schema)
