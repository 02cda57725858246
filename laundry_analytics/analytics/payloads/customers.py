"""The customers payload and report: the customers acquired by the end of the
range (with a partner: those who had ordered from it), their segments, lifetime
value, churn, top customers and acquisition trend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from laundry_analytics.analytics.aggregates import (
    connection,
    customers_as_of,
    every_day,
    top_customers,
)
from laundry_analytics.analytics.arithmetic import rate, ratio
from laundry_analytics.analytics.payload_type import (
    SCHEMAS_DIR,
    ChartSpec,
    KpiSpec,
    PayloadType,
    ReportLayout,
    TableSpec,
)
from laundry_analytics.analytics.rows import SEGMENTS, customer_rows, order_filter
from laundry_analytics.analytics.windows import Window, make_window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.freshness import data_as_of

MARTS = ("agg_customers_daily", "customer_analytics", "dim_customers", "fct_orders")
"""The marts the customers payload reads (its data_as_of is the oldest of theirs)."""


def active_customers(c: psycopg.Connection, w: Window) -> int:
    """Distinct customers with an order in the range (under the window's filters).
    Over all partners, a range that reaches the latest order date (the default
    range, and every cached payload) counts the customers whose last order is in
    it: nobody has a later one (customer_analytics, its last_order_date index).
    Otherwise a hashed distinct over the (order_date, customer_id) index only (at
    10M orders and 30 days: 1.5M index entries, ~1.7 s, against ~45 ms)."""
    if not w.is_filtered:
        reaches_latest = c.execute(
            compose("select not exists (select 1 from {a}.fct_orders where order_date > %(end)s) as latest"),
            w.params(),
        ).fetchone()["latest"]
        if reaches_latest:
            return c.execute(
                compose("select count(*) as n from {a}.customer_analytics where last_order_date >= %(start)s"),
                w.params(),
            ).fetchone()["n"]
    return c.execute(
        compose(
            "select count(*) as n from (select distinct customer_id from {a}.fct_orders where {filter}) as active",
            filter=order_filter(w),
        ),
        w.params(),
    ).fetchone()["n"]


def population_figures(c: psycopg.Connection, w: Window) -> tuple[dict, dict[str, int], dict[dt.date, int]]:
    """The window's customer population (rows.customer_rows) read once, summed per
    (first order date, segment, churn-risk flag): its totals, its customers per
    segment and its new customers per first order date of the range. Under a
    partner the population is computed when read (customer_analytics), so one
    pass instead of one per figure: at 10M orders
    the largest partner has ~330k customers, each pass ~0.7 s (a plain GROUP BY
    keeps the parallel hash join; grouping sets made PostgreSQL choose one index
    lookup per customer, 1.8 s)."""
    rows = c.execute(
        compose(
            """
        select first_order_date, customer_segment, is_at_churn_risk, sum(customers)::int as customers,
               coalesce(sum(lifetime_value), 0) as lifetime_value, sum(lifetime_value_count)::int as lifetime_value_count
        from {rows}
        group by first_order_date, customer_segment, is_at_churn_risk
    """,
            rows=customer_rows(w),
        ),
        w.params(),
    ).fetchall()
    segments = dict.fromkeys(SEGMENTS, 0)
    acquisition: dict[dt.date, int] = {}
    for row in rows:
        segments[row["customer_segment"]] += row["customers"]
        if w.start <= row["first_order_date"] <= w.end:
            acquisition[row["first_order_date"]] = acquisition.get(row["first_order_date"], 0) + row["customers"]
    lifetime_value = sum((row["lifetime_value"] for row in rows), Decimal("0.00"))
    totals = {
        "total_customers": sum(row["customers"] for row in rows),
        "new_customers": sum(acquisition.values()),
        "at_risk_customers": sum(row["customers"] for row in rows if row["is_at_churn_risk"]),
        "total_lifetime_value": lifetime_value,
        "average_lifetime_value": ratio(lifetime_value, sum(row["lifetime_value_count"] for row in rows)),
    }
    return totals, segments, acquisition


def customers(start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None) -> dict:
    """Customers acquired by the end of the range (with the partner: who ordered
    from it): totals, segments, lifetime value, at-risk count, top customers by
    lifetime value (PII masked), acquisition trend, churn rate."""
    with connection(conn) as c:
        fresh_as_of = data_as_of(MARTS, c)
        w = make_window(start, end, partner_id, conn=c)
        totals, segments, acquisition = population_figures(c, w)
        active = active_customers(c, w)
        top = top_customers(c, w)
        as_of = customers_as_of(c, w)
    return {
        "type": "customers",
        "period": w.describe(),
        "data_as_of": fresh_as_of,
        "as_of_date": as_of,
        "totals": {**totals, "active_customers": active},
        "segments": segments,
        "churn_rate": rate(segments["churned"], totals["total_customers"]),
        "top_customers": top,
        "acquisition_trend": [
            {"date": day, "new_customers": new_customers} for day, new_customers in every_day(w, acquisition, 0)
        ],
    }


def unmasked_top_customers(conn: psycopg.Connection, w: Window) -> list[dict]:
    """The top customers with their names and emails (report schedules allowed to show PII)."""
    return top_customers(conn, w, unmasked=True)


REPORT = ReportLayout(
    kpis=(
        KpiSpec("Active customers", "totals.active_customers", "int", words="customer_count"),
        KpiSpec("New customers", "totals.new_customers", "int", words="customer_count"),
        # Everyone acquired by the period's end: it only grows, which is no news either way.
        KpiSpec("Customers", "totals.total_customers", "int", words="customer_count", better="neither"),
        KpiSpec("At churn risk", "totals.at_risk_customers", "int", words="customers", better="down", as_of=True),
        KpiSpec("Churn rate %", "churn_rate", "rate", words="customers", better="down", as_of=True),
        KpiSpec("Avg lifetime value", "totals.average_lifetime_value", "money", words="customers", as_of=True),
    ),
    tables=(
        TableSpec(
            "segments",
            "Customer segments{as_of}",
            (("segment", "Segment", "text"), ("customers", "Customers", "int")),
            rows="segments",
            pairs=True,
            sheet="Customer segments",
            total=("customers",),
            words="none",
        ),
        TableSpec(
            "top_customers",
            "Top customers by lifetime value{as_of}{masked}",
            (
                ("customer", "Customer", "text"),
                ("email", "Email", "text"),
                ("lifetime_value", "Lifetime value", "money"),
                ("total_orders", "Orders", "int"),
                ("segment", "Segment", "text"),
            ),
            rows="top_customers",
            unmasked_source=unmasked_top_customers,
            sheet="Top customers",
            words="none",
        ),
        TableSpec(
            "acquisition",
            "New customers per day",
            (("date", "Date", "date"), ("new_customers", "New customers", "int")),
            rows="acquisition_trend",
            sheet="New customers per day",
            total=("new_customers",),
            pdf="chart",
            words="customer_count",
        ),
    ),
    charts=(
        ChartSpec("New customers per day", "line", "acquisition", "date", "new_customers", words="customer_count"),
        ChartSpec("Customer segments{as_of}", "bar", "segments", "segment", "customers", words="none"),
    ),
    as_of="as_of_date",
    partner_filter="the customers who had ordered from this partner by the period's end; their segment, lifetime "
    "value and churn risk cover all their orders, with any partner.",
)

PAYLOAD_TYPE = PayloadType(
    name="customers",
    title="Customer report",
    compute=customers,
    marts=MARTS,
    cache_ttl=dt.timedelta(minutes=15),
    schema=SCHEMAS_DIR / "customers.schema.json",
    refusals={
        "service_category": "customer figures (segments, lifetime value, churn risk) cover all of a "
        "customer's orders, whatever their items, so no figure could be limited to one "
        "category"
    },
    report=REPORT,
)
