"""The revenue payload and report: totals, by payment method, by service
category, daily trend, top services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from laundry_analytics.analytics.aggregates import connection, every_day, item_sales, orders_by_day
from laundry_analytics.analytics.arithmetic import rate, ratio
from laundry_analytics.analytics.payload_type import (
    SCHEMAS_DIR,
    ChartSpec,
    FootnoteSpec,
    KpiSpec,
    PayloadType,
    ReportLayout,
    TableSpec,
)
from laundry_analytics.analytics.rows import TOP_N
from laundry_analytics.analytics.windows import make_window
from laundry_analytics.freshness import data_as_of
from laundry_analytics.ops_schema import PAYMENT_METHODS

_EMPTY_DAY = {"total_orders": 0, "total_revenue": Decimal("0.00"), "refund_amount": Decimal("0.00")}


MARTS = ("agg_orders_daily", "agg_item_sales_daily", "fct_orders", "fct_order_items")
"""The marts the revenue payload reads (its data_as_of is the oldest of theirs)."""


def revenue(
    start=None,
    end=None,
    partner_id=None,
    *,
    service_category: str | None = None,
    conn: psycopg.Connection | None = None,
) -> dict:
    """Revenue: totals, by payment method, by service category, daily trend, top
    services (ranked among the category's services under `service_category`)."""
    with connection(conn) as c:
        fresh_as_of = data_as_of(MARTS, c)
        w = make_window(start, end, partner_id, service_category=service_category, conn=c)
        days = orders_by_day(c, w)
        total = days.pop(None)
        categories, services = item_sales(c, w, paid_only=True)
    return {
        "type": "revenue",
        "period": w.describe(),
        "data_as_of": fresh_as_of,
        "totals": {
            "total_revenue": total["total_revenue"],
            "refund_amount": total["refund_amount"],
            "net_revenue": total["total_revenue"] - total["refund_amount"],
            "refund_count": total["refund_count"],
            "total_orders": total["total_orders"],
            "paid_orders": total["paid_orders"],
            "average_order_value": ratio(total["total_revenue"], total["paid_orders"]),
        },
        "by_payment_method": [
            {
                "method": method,
                "revenue": total[f"{method}_revenue"],
                "share": rate(total[f"{method}_revenue"], total["total_revenue"]),
            }
            for method in PAYMENT_METHODS
        ],
        "by_service_category": categories,
        "daily_trend": [
            {
                "date": day,
                "total_orders": row["total_orders"],
                "total_revenue": row["total_revenue"],
                "refund_amount": row["refund_amount"],
                "net_revenue": row["total_revenue"] - row["refund_amount"],
            }
            for day, row in every_day(w, days, _EMPTY_DAY)
        ],
        "top_services": services[:TOP_N],
    }


REPORT = ReportLayout(
    kpis=(
        KpiSpec("Orders", "totals.total_orders", "int", words="order_count"),
        KpiSpec("Total revenue", "totals.total_revenue", "money"),
        KpiSpec("Net revenue", "totals.net_revenue", "money"),
        KpiSpec("Paid orders", "totals.paid_orders", "int", words="order_count"),
        KpiSpec("Average order value", "totals.average_order_value", "money"),
        KpiSpec("Refunds", "totals.refund_amount", "money", better="down"),
    ),
    tables=(
        TableSpec(
            "daily",
            "Daily revenue",
            (
                ("date", "Date", "date"),
                ("total_orders", "Orders", "int"),
                ("total_revenue", "Revenue", "money"),
                ("refund_amount", "Refunds", "money"),
                ("net_revenue", "Net revenue", "money"),
            ),
            rows="daily_trend",
            sheet="Daily revenue",
            total=("total_orders", "total_revenue", "refund_amount", "net_revenue"),
        ),
        TableSpec(
            "payment_methods",
            "Revenue by payment method",
            (("method", "Method", "text"), ("revenue", "Revenue", "money"), ("share", "Share %", "rate")),
            rows="by_payment_method",
            sheet="Revenue by payment method",
            total=("revenue",),
        ),
        # Orders are not totalled: an order with items of several categories counts in each.
        TableSpec(
            "categories",
            "Item sales by service category (paid orders)",
            (
                ("category", "Category", "text"),
                ("item_sales", "Item sales", "money"),
                ("quantity", "Quantity", "int"),
                ("orders", "Orders", "int"),
            ),
            rows="by_service_category",
            sheet="Item sales by category",
            total=("item_sales", "quantity"),
            words="none",
            filtered_titles={"service_category": "Item sales of {service_category} lines (paid orders)"},
        ),
        TableSpec(
            "top_services",
            "Top services",
            (
                ("service", "Service", "text"),
                ("category", "Category", "text"),
                ("item_sales", "Item sales", "money"),
                ("quantity", "Quantity", "int"),
            ),
            rows="top_services",
            sheet="Top services",
            words="none",
            filtered_titles={"service_category": "Top {service_category} services"},
        ),
    ),
    charts=(
        ChartSpec("Daily revenue", "line", "daily", "date", "total_revenue"),
        ChartSpec("Revenue by payment method", "bar", "payment_methods", "method", "revenue"),
    ),
    footnotes=(
        FootnoteSpec("payment_methods", ("Total revenue",)),
        FootnoteSpec("item_sales", ("Total revenue",)),
    ),
    # The revenue reconciliation checks hang on daily_revenue_summaries.
    waits_for=("daily_revenue_summaries",),
)

PAYLOAD_TYPE = PayloadType(
    name="revenue",
    title="Revenue report",
    compute=revenue,
    marts=MARTS,
    cache_ttl=dt.timedelta(minutes=10),
    schema=SCHEMAS_DIR / "revenue.schema.json",
    filters=("service_category",),
    report=REPORT,
)
