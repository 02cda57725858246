"""Which of a range's figures can still change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import tuple_row

from laundry_analytics import settings as settings_module
from laundry_analytics.analytics.aggregates import connection
from laundry_analytics.analytics.rows import order_rows
from laundry_analytics.analytics.windows import make_window
from laundry_analytics.analytics_schema import compose


def completeness(
    start=None,
    end=None,
    partner_id=None,
    *,
    service_category: str | None = None,
    city: str | None = None,
    conn: psycopg.Connection | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """What of a range's figures can still change, over the same orders as the
    payload with these filters: each order date with open orders (status other
    than completed, cancelled, rejected: fct_orders.is_open) and how many of its
    orders are open; the dates not over yet in the business time zone at `now`
    (default: the current time); and `data_up_to`, the local time of the last
    fct_orders refresh (the marts' data goes up to then; never after `now`)."""
    zone = ZoneInfo(settings_module.load().business_timezone)
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
    with connection(conn) as c:
        w = make_window(start, end, partner_id, service_category=service_category, city=city, conn=c)
        open_days = c.execute(
            compose(
                """
            select order_date as date, sum(orders)::int as orders, sum(open_orders)::int as open_orders
            from {rows}
            group by order_date
            having sum(open_orders) > 0
            order by order_date
        """,
                rows=order_rows(w),
            ),
            w.params(),
        ).fetchall()
        refreshed = c.execute(compose("select max(refreshed_at) as at from {a}.fct_orders")).fetchone()["at"]
    return {
        "period": w.describe(),
        "now": now,
        "data_up_to": min(refreshed, now).astimezone(zone) if refreshed else None,
        "open_orders_by_day": open_days,
        "unfinished_days": [day for day in w.dates() if day >= now.date()],
    }


def data_refreshed_at(conn: psycopg.Connection) -> dt.datetime | None:
    """When fct_orders was last refreshed: what a report's "data as of" says."""
    query = compose("select max(refreshed_at) from {a}.fct_orders")
    return conn.cursor(row_factory=tuple_row).execute(query).fetchone()[0]
