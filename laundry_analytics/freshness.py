"""How fresh the marts are: `data_as_of`, the instant up to which changes to the
ops tables are reflected in a mart.

dbt records it for every table it builds in analytics.mart_refreshes (a post-hook,
dbt_project/macros/data_as_of.sql): the start of the dbt invocation for a model that
reads ops, the oldest of its inputs' for a model that reads other tables. A view
(customer_analytics, dim_customers) computes when it is read: its row has no
data_as_of but lists the tables it reads (`reads`), and it is as fresh as they are
(as the moment it is read when it reads ops only). A payload is as fresh as the
stalest mart it reads, so its `data_as_of` is their minimum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import psycopg
from psycopg.rows import tuple_row

from laundry_analytics import analytics_schema


def data_as_of(marts: Iterable[str], conn: psycopg.Connection) -> dt.datetime | None:
    """The oldest `data_as_of` of these marts (of the tables they read, for a view);
    None when any of them has no record yet (built before freshness was recorded,
    or never built): freshness unknown."""
    names = sorted(set(marts))
    try:
        with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                analytics_schema.compose(
                    """
                with asked as (
                    select * from {a}.mart_refreshes where model = any(%s)
                ),
                tables_read as (
                    -- A view's tables; data_as_of null: a table with no record.
                    select t.data_as_of
                    from asked cross join unnest(asked.reads) as r (model)
                    left join {a}.mart_refreshes as t on t.model = r.model
                )
                select
                    least(now(), (select min(data_as_of) from (
                        select data_as_of from asked union all select data_as_of from tables_read
                    ) as every_record)),
                    (select count(*) from asked),
                    (select count(*) from tables_read where data_as_of is null)
                """
                ),
                (names,),
            ).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return None  # not built yet, or not since `reads` was added: unknown until the next run
    oldest, recorded, tables_missing = row
    return oldest if recorded == len(names) and not tables_missing else None


def lag(as_of: dt.datetime | None, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How far `as_of` is behind `now` (default: the current time); None if unknown."""
    if as_of is None:
        return None
    return (now or dt.datetime.now(dt.timezone.utc)) - as_of
