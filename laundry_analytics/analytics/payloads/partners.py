"""The partners payload and report: counts, average rates, durations, top and low
performers, trend, and the orders no partner has."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from laundry_analytics.analytics.aggregates import connection, every_day, partner_ranking, partner_totals
from laundry_analytics.analytics.payload_type import (
    SCHEMAS_DIR,
    ChartSpec,
    FootnoteSpec,
    KpiSpec,
    PayloadType,
    ReportLayout,
    TableSpec,
)
from laundry_analytics.analytics.rows import DURATION_AVERAGES, DURATIONS, TOP_N, order_rows, partner_filter
from laundry_analytics.analytics.windows import Window, make_window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.freshness import data_as_of

MIN_ORDERS_TO_RANK_PARTNER = 5
"""A partner needs this many orders in the range to be ranked top or low performer."""


MARTS = ("agg_partner_periods", "partner_performance_metrics", "dim_partners", "agg_orders_daily", "fct_orders")
"""The marts the partners payload reads (its data_as_of is the oldest of theirs)."""


def partners(
    start=None,
    end=None,
    partner_id=None,
    *,
    city: str | None = None,
    conn: psycopg.Connection | None = None,
    min_orders: int = MIN_ORDERS_TO_RANK_PARTNER,
) -> dict:
    """Partners (with `city`, that city's): counts, average acceptance and
    completion rates (the mean of each partner's rate over the range), average
    durations, top and low performers by completion rate then revenue (partners
    with at least `min_orders` orders), trend; and, over all partners, the orders
    that have no partner (in no partner's figures)."""
    with connection(conn) as c:
        fresh_as_of = data_as_of(MARTS, c)
        w = make_window(start, end, partner_id, city=city, conn=c)
        counts = c.execute(
            compose(
                """
            select count(*) as total, count(*) filter (where is_active) as active,
                   count(*) filter (where not is_active) as inactive
            from {a}.dim_partners where {filter}
        """,
                filter=partner_filter(w, "partner_id"),
            ),
            w.params(),
        ).fetchone()
        ranked = partner_ranking(c, w, top=TOP_N, min_orders=min_orders)
        trend = {
            row["date"]: row
            for row in c.execute(
                compose(
                    """
            select date, sum(orders_received)::int as orders_received, sum(revenue) as revenue,
                   count(*)::int as partners_with_orders
            from {a}.partner_performance_metrics
            where date between %(start)s and %(end)s and {filter}
            group by date
        """,
                    filter=partner_filter(w, "partner_id"),
                ),
                w.params(),
            )
        }
        durations = c.execute(
            compose("select {averages} from {rows} where has_partner", rows=order_rows(w), averages=DURATION_AVERAGES),
            w.params(),
        ).fetchone()
        without_partner = None if w.partner_id or w.city else _orders_without_partner(c, w)
    return {
        "type": "partners",
        "period": w.describe(),
        "data_as_of": fresh_as_of,
        "partner_counts": counts,
        "totals": {
            "partners_with_orders": ranked.partners_with_orders,
            "orders_received": ranked.orders_received,
            "revenue": ranked.revenue,
        },
        "average_acceptance_rate": ranked.average_acceptance_rate,
        "average_completion_rate": ranked.average_completion_rate,
        "average_minutes": {name: durations[f"avg_{name}_minutes"] for name in DURATIONS},
        "top_performers": ranked.top_performers,
        "low_performers": ranked.low_performers,
        "trend": [
            {
                "date": day,
                "orders_received": row["orders_received"],
                "revenue": row["revenue"],
                "partners_with_orders": row["partners_with_orders"],
            }
            for day, row in every_day(
                w, trend, {"orders_received": 0, "revenue": Decimal("0.00"), "partners_with_orders": 0}
            )
        ],
        "orders_without_partner": without_partner,
    }


def _orders_without_partner(c: psycopg.Connection, w: Window) -> dict:
    """The range's orders assigned to no partner (so in no partner's figures) and their revenue."""
    return c.execute(
        compose("""
        select coalesce(sum(orders), 0)::int as orders, coalesce(sum(captured_amount), 0) as revenue
        from {a}.agg_orders_daily
        where order_date between %(start)s and %(end)s and not has_partner
    """),
        w.params(),
    ).fetchone()


def partners_by_revenue(conn: psycopg.Connection, w: Window) -> list[dict]:
    """Every partner with orders in the window, largest revenue first (the report's table)."""
    rows = partner_totals(conn, w)
    rows.sort(key=lambda row: (-row["revenue"], row["business_name"] or "", row["partner_id"]))
    return rows


REPORT = ReportLayout(
    kpis=(
        KpiSpec("Orders received", "totals.orders_received", "int", words="partners"),
        KpiSpec("Revenue", "totals.revenue", "money", words="partners"),
        KpiSpec("Partners with orders", "totals.partners_with_orders", "int", words="partner_count"),
        KpiSpec("Avg acceptance rate %", "average_acceptance_rate", "rate", words="partners"),
        KpiSpec("Avg completion rate %", "average_completion_rate", "rate", words="partners"),
    ),
    tables=(
        TableSpec(
            "partners",
            "Partners",
            (
                ("business_name", "Partner", "text"),
                ("city", "City", "text"),
                ("orders_received", "Received", "int"),
                ("orders_accepted", "Accepted", "int"),
                ("orders_completed", "Completed", "int"),
                ("revenue", "Revenue", "money"),
                ("acceptance_rate", "Acceptance %", "rate"),
                ("completion_rate", "Completion %", "rate"),
                ("average_rating", "Rating", "number"),
            ),
            source=partners_by_revenue,
            sheet="Partners",
            words="none",
            # Rates and ratings do not add up; a pooled rate would read as the KPIs' mean rate.
            total=("orders_received", "orders_accepted", "orders_completed", "revenue"),
            pdf="trim",
            trim=(15, 5, "partners by revenue"),
            filtered_titles={"city": "Partners in {city}"},
        ),
        TableSpec(
            "low_performers",
            f"Low performers: lowest completion rate (at least {MIN_ORDERS_TO_RANK_PARTNER} orders)",
            (
                ("business_name", "Partner", "text"),
                ("city", "City", "text"),
                ("orders_received", "Received", "int"),
                ("orders_accepted", "Accepted", "int"),
                ("orders_completed", "Completed", "int"),
                ("completion_rate", "Completion %", "rate"),
                ("acceptance_rate", "Acceptance %", "rate"),
                ("revenue", "Revenue", "money"),
            ),
            rows="low_performers",
            sheet="Low performers",
            words="none",
            filtered_titles={
                "city": "Low performers in {city}: lowest completion rate (at least "
                f"{MIN_ORDERS_TO_RANK_PARTNER} orders)"
            },
        ),
        # Partners per day do not add up: a partner counts on each day it has orders.
        TableSpec(
            "trend",
            "Daily trend",
            (
                ("date", "Date", "date"),
                ("orders_received", "Orders", "int"),
                ("revenue", "Revenue", "money"),
                ("partners_with_orders", "Partners", "int"),
            ),
            rows="trend",
            sheet="Daily trend",
            total=("orders_received", "revenue"),
            words="partners",
        ),
    ),
    charts=(
        ChartSpec("Orders received per day", "line", "trend", "date", "orders_received", words="partners"),
        ChartSpec(
            "Top 10 partners by revenue", "bar", "partners", "business_name", "revenue", limit=10, words="partners"
        ),
    ),
    footnotes=(
        FootnoteSpec("orders_without_partner", ("Orders received", "Revenue")),
        FootnoteSpec("mean_rates", ("Avg acceptance rate %", "Avg completion rate %")),
    ),
)

PAYLOAD_TYPE = PayloadType(
    name="partners",
    title="Partner performance report",
    compute=partners,
    marts=MARTS,
    cache_ttl=dt.timedelta(minutes=10),
    schema=SCHEMAS_DIR / "partners.schema.json",
    filters=("city",),
    refusals={
        "service_category": "partner figures (counts, rates, durations, rankings) cover a partner's orders "
        "whatever their items, so no figure could be limited to one category"
    },
    report=REPORT,
)
