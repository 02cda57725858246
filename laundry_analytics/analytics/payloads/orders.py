"""The orders payload and report: by status, service category, local hour and
day of week; average durations; completion and cancellation rates."""

from __future__ import annotations

import datetime as dt

import psycopg

from laundry_analytics.analytics.aggregates import connection, item_sales
from laundry_analytics.analytics.arithmetic import rate
from laundry_analytics.analytics.payload_type import (
    SCHEMAS_DIR,
    ChartSpec,
    FootnoteSpec,
    KpiSpec,
    PayloadType,
    ReportLayout,
    TableSpec,
)
from laundry_analytics.analytics.rows import (
    DAY_NAMES,
    DURATION_AVERAGES,
    DURATION_SUMS,
    DURATIONS,
    ORDER_STATUSES,
    order_rows,
)
from laundry_analytics.analytics.windows import make_window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.freshness import data_as_of

_COUNTS = ("total_orders", "completed_orders", "cancelled_orders", "pending_orders")


MARTS = ("agg_orders_daily", "agg_item_sales_daily", "fct_orders", "fct_order_items")
"""The marts the orders payload reads (its data_as_of is the oldest of theirs)."""


def orders(
    start=None,
    end=None,
    partner_id=None,
    *,
    service_category: str | None = None,
    conn: psycopg.Connection | None = None,
) -> dict:
    """Orders: by status, service category, local hour and day of week; average
    durations; completion and cancellation rates."""
    with connection(conn) as c:
        fresh_as_of = data_as_of(MARTS, c)
        w = make_window(start, end, partner_id, service_category=service_category, conn=c)
        # The window's rows are summed once per (status, hour, day of week), then the
        # grouping sets add up those few thousand combinations: at 10M orders, the
        # largest partner's year is 0.17 s instead of 0.64 s for four grouping sets
        # over its 470k orders.
        rows = c.execute(
            compose(
                """
            select grouping(status) as by_status, grouping(order_hour) as by_hour,
                   grouping(order_day_of_week) as by_dow,
                   status, order_hour, order_day_of_week,
                   coalesce(sum(orders), 0)::int as total_orders,
                   coalesce(sum(completed_orders), 0)::int as completed_orders,
                   coalesce(sum(cancelled_orders), 0)::int as cancelled_orders,
                   coalesce(sum(open_orders), 0)::int as pending_orders,
                   {averages}
            from (
                select status, order_hour, order_day_of_week, sum(orders) as orders,
                       sum(completed_orders) as completed_orders, sum(cancelled_orders) as cancelled_orders,
                       sum(open_orders) as open_orders, {duration_sums}
                from {rows}
                group by status, order_hour, order_day_of_week
            ) as combinations
            group by grouping sets ((), (status), (order_hour), (order_day_of_week))
        """,
                rows=order_rows(w),
                duration_sums=DURATION_SUMS,
                averages=DURATION_AVERAGES,
            ),
            w.params(),
        ).fetchall()
        categories, _ = item_sales(c, w, paid_only=False)
    total = next(
        (r for r in rows if r["by_status"] and r["by_hour"] and r["by_dow"]),
        {**dict.fromkeys(_COUNTS, 0), **{f"avg_{name}_minutes": None for name in DURATIONS}},
    )
    by_status = {r["status"]: r["total_orders"] for r in rows if not r["by_status"]}
    by_hour = {r["order_hour"]: r["total_orders"] for r in rows if not r["by_hour"]}
    by_dow = {r["order_day_of_week"]: r["total_orders"] for r in rows if not r["by_dow"]}
    return {
        "type": "orders",
        "period": w.describe(),
        "data_as_of": fresh_as_of,
        "totals": {key: total[key] for key in _COUNTS},
        "by_status": [{"status": s, "orders": by_status.get(s, 0)} for s in ORDER_STATUSES],
        "by_service_category": [{key: row[key] for key in ("category", "orders", "quantity")} for row in categories],
        "by_hour": [{"hour": hour, "orders": by_hour.get(hour, 0)} for hour in range(24)],
        "by_day_of_week": [{"day_of_week": n, "day": DAY_NAMES[n], "orders": by_dow.get(n, 0)} for n in range(7)],
        "average_minutes": {name: total[f"avg_{name}_minutes"] for name in DURATIONS},
        "completion_rate": rate(total["completed_orders"], total["total_orders"]),
        "cancellation_rate": rate(total["cancelled_orders"], total["total_orders"]),
    }


REPORT = ReportLayout(
    kpis=(
        KpiSpec("Orders", "totals.total_orders", "int", words="order_count"),
        KpiSpec("Completed", "totals.completed_orders", "int", words="order_count"),
        KpiSpec("Cancelled", "totals.cancelled_orders", "int", words="order_count", better="down"),
        KpiSpec("Completion rate %", "completion_rate", "rate"),
        KpiSpec("Cancellation rate %", "cancellation_rate", "rate", better="down"),
        KpiSpec("Avg total minutes", "average_minutes.total", "minutes", better="down"),
    ),
    tables=(
        TableSpec(
            "status",
            "Orders by status",
            (("status", "Status", "text"), ("orders", "Orders", "int")),
            rows="by_status",
            sheet="Orders by status",
            total=("orders",),
        ),
        TableSpec(
            "hours",
            "Orders by local hour",
            (("hour", "Hour", "int"), ("orders", "Orders", "int")),
            rows="by_hour",
            sheet="Orders by local hour",
            pdf="chart",
        ),
        TableSpec(
            "weekdays",
            "Orders by day of week",
            (("day", "Day", "text"), ("orders", "Orders", "int")),
            rows="by_day_of_week",
            sheet="Orders by day of week",
            total=("orders",),
        ),
        # Orders are not totalled: an order with items of several categories counts in each.
        TableSpec(
            "categories",
            "Orders by service category",
            (("category", "Category", "text"), ("orders", "Orders", "int"), ("quantity", "Quantity", "int")),
            rows="by_service_category",
            sheet="Orders by category",
            total=("quantity",),
            words="none",
            filtered_titles={"service_category": "Orders and quantity of {service_category} lines"},
        ),
        TableSpec(
            "durations",
            "Average stage durations (minutes)",
            (("stage", "Stage", "text"), ("minutes", "Minutes", "minutes")),
            rows="average_minutes",
            pairs=True,
            sheet="Stage durations",
        ),
    ),
    charts=(
        ChartSpec("Orders by local hour", "bar", "hours", "hour", "orders"),
        ChartSpec("Orders by status", "bar", "status", "status", "orders"),
    ),
    footnotes=(
        FootnoteSpec("category_orders", ("Orders",)),
        FootnoteSpec("cancelled", ("Cancelled",)),
        FootnoteSpec("durations", ("Avg total minutes",)),
    ),
)

PAYLOAD_TYPE = PayloadType(
    name="orders",
    title="Orders report",
    compute=orders,
    marts=MARTS,
    cache_ttl=dt.timedelta(minutes=10),
    schema=SCHEMAS_DIR / "orders.schema.json",
    filters=("service_category",),
    report=REPORT,
)
