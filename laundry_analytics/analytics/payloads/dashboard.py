"""The dashboard payload: the end day's revenue, orders and customers with growth
vs the day before; the range's orders by status; top partners; customer
segments; active partners. A dashboard payload only, not an emailed report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
from psycopg import sql

from laundry_analytics.analytics.aggregates import connection, partner_ranking, segment_counts
from laundry_analytics.analytics.arithmetic import growth
from laundry_analytics.analytics.payload_type import SCHEMAS_DIR, PayloadType
from laundry_analytics.analytics.rows import ORDER_STATUSES, order_rows, partner_filter, partner_scope
from laundry_analytics.analytics.windows import Window, make_window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.freshness import data_as_of

TOP_PARTNERS = 5


MARTS = (
    "fct_orders",
    "agg_orders_daily",
    "daily_revenue_summaries",
    "agg_partner_periods",
    "dim_partners",
    "agg_customers_daily",
    "customer_analytics",
)
"""The marts the dashboard payload reads (its data_as_of is the oldest of theirs)."""


def _last_two_days(w: Window) -> sql.Composable:
    """Orders, revenue and distinct customers of the range's end day and the day
    before. Over all partners, their two rows of daily_revenue_summaries (a date's
    distinct customers are its new plus its returning customers), not the ~55k
    orders of two days at 10M orders, whose newest heap pages are not yet
    all-visible (~140 ms). Under a partner, that partner's orders (the
    (partner_id, order_date, ...) index holds every column read)."""
    if not w.is_filtered:
        return compose("""
            select date as order_date, total_orders as orders, total_revenue as revenue,
                   coalesce(new_customers + returning_customers, 0) as customers
            from {a}.daily_revenue_summaries
            where date between %(end)s - 1 and %(end)s
        """)
    return compose(
        """
            select order_date, count(*)::int as orders, coalesce(sum(captured_amount), 0) as revenue,
                   count(distinct customer_id)::int as customers
            from {a}.fct_orders
            where order_date between %(end)s - 1 and %(end)s {and_partner}
            group by order_date
        """,
        and_partner=partner_scope(w),
    )


def dashboard(start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None) -> dict:
    """Dashboard: today's (= end's) revenue, orders and customers with growth vs the
    previous day; the range's orders by status; top partners; customer segments;
    active partners."""
    with connection(conn) as c:
        fresh_as_of = data_as_of(MARTS, c)
        w = make_window(start, end, partner_id, conn=c)
        days = {row.pop("order_date"): row for row in c.execute(_last_two_days(w), w.params())}
        zero = {"orders": 0, "revenue": Decimal("0.00"), "customers": 0}
        today_row = days.get(w.end, zero)
        yesterday = days.get(w.end - dt.timedelta(days=1), zero)
        statuses = {
            row["status"]: row["orders"]
            for row in c.execute(
                compose("select status, sum(orders)::int as orders from {rows} group by status", rows=order_rows(w)),
                w.params(),
            )
        }
        active = c.execute(
            compose(
                """
            select count(*) filter (where is_active) as active_partners from {a}.dim_partners where {filter}
        """,
                filter=partner_filter(w, "partner_id"),
            ),
            w.params(),
        ).fetchone()["active_partners"]
        ranked = partner_ranking(c, w, top=TOP_PARTNERS, min_orders=0)
        segments = segment_counts(c, w)
    return {
        "type": "dashboard",
        "period": w.describe(),
        "data_as_of": fresh_as_of,
        "today": {"date": w.end, **today_row},
        "previous_day": {"date": w.end - dt.timedelta(days=1), **yesterday},
        "growth_percent": {key: growth(today_row[key], yesterday[key]) for key in ("revenue", "orders", "customers")},
        "recent_orders": {
            "total_orders": sum(statuses.values()),
            "by_status": [{"status": s, "orders": statuses.get(s, 0)} for s in ORDER_STATUSES],
        },
        "top_partners": ranked.by_revenue,
        "customer_segments": segments,
        "active_partners": active,
        "partners_with_orders": ranked.partners_with_orders,
    }


PAYLOAD_TYPE = PayloadType(
    name="dashboard",
    title="Dashboard",
    compute=dashboard,
    marts=MARTS,
    cache_ttl=dt.timedelta(minutes=5),
    schema=SCHEMAS_DIR / "dashboard.schema.json",
)
