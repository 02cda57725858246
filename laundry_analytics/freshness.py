"""How fresh the marts are: `data_as_of`, the instant up to which changes to the
ops tables are reflected in a mart.

dbt records it for every table it builds in analytics.mart_refreshes (a post-hook,
dbt_project/macros/data_as_of.sql): the start of the dbt invocation for a model that
reads ops, the oldest of its inputs' for a model that reads other tables. A payload
is as fresh as the stalest mart it reads, so its `data_as_of` is their minimum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import psycopg
from psycopg.rows import tuple_row

from laundry_analytics import analytics_schema


def data_as_of(marts: Iterable[str], conn: psycopg.Connection) -> dt.datetime | None:
    """The oldest `data_as_of` of these marts; None when any of them has no record
    yet (built before freshness was recorded, or never built): freshness unknown."""
    names = sorted(set(marts))
    try:
        with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                analytics_schema.compose(
                    "select min(data_as_of), count(*) from {a}.mart_refreshes where model = any(%s)"
                ),
                (names,),
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    oldest, recorded = row
    return oldest if recorded == len(names) else None


def lag(as_of: dt.datetime | None, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How far `as_of` is behind `now` (default: the current time); None if unknown."""
    if as_of is None:
        return None
    return (now or dt.datetime.now(dt.timezone.utc)) - as_of
