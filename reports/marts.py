"""The marts each report type reads, and when a mart is ready to report a period.

One definition for both sides: the runner waits for these marts before a due
report is sent (`unready_marts`), and the Dagster sensor also holds a report back
while a blocking check on one of them fails. Nothing here imports Dagster.

Readiness keeps one rule per kind of mart, all meaning "the marts were rebuilt
after the period closed":

- a mart with a row per order date (fct_*, the daily marts) is ready when it has
  a row for the period's last date written by a run that started after that day
  ended (in the business time zone);
- customer_analytics, rebuilt whole with an as-of date, is ready when it was
  computed as of the period's last date or later;
- the dimensions (dim_partners, dim_customers) hold current attributes, not
  periods: never waited for (their checks still gate the report in the sensor).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from laundry_analytics import settings as settings_module
from laundry_analytics.analytics import registry
from laundry_analytics.analytics_schema import identifier
from reports.periods import Period


def report_marts(report_type: str) -> list[str]:
    """The marts a report type reads, sorted: those of its payload (PayloadType.marts),
    fct_orders (every report's "data as of") and those its layout waits for
    (ReportLayout.waits_for). ValueError for a type that is no report."""
    waits_for = registry.report_layout(report_type).waits_for
    return sorted({*registry.get(report_type).marts, "fct_orders", *waits_for})


#: Marts with one row (or rows) per order date: the name of that date column.
DATE_COLUMNS: dict[str, str] = {
    "fct_orders": "order_date",
    "fct_order_items": "order_date",
    "daily_revenue_summaries": "date",
    "partner_performance_metrics": "date",
    "agg_orders_daily": "order_date",
    "agg_item_sales_daily": "order_date",
}
AS_OF_MARTS = ("customer_analytics",)
"""Rebuilt whole on every run; as-of date = last_order_date + days_since_last_order."""
UNDATED_MARTS = ("dim_partners", "dim_customers", "agg_customers_daily")
"""Current attributes (the dimensions), or rebuilt whole together with
customer_analytics (agg_customers_daily, covered by its as-of rule)."""


def unready_marts(conn: psycopg.Connection, period: Period, report_type: str) -> list[str]:
    """The marts of `report_type` not yet rebuilt for `period` (empty: ready).
    Raises ValueError for an unknown report type and KeyError for a mart with no
    readiness rule, so a mart a report reads cannot be silently treated as ready."""
    unready = [mart for mart in report_marts(report_type) if not mart_ready(conn, mart, period)]
    conn.commit()  # end the read transaction: the sensor's connection stays open between checks
    return unready


def mart_ready(conn: psycopg.Connection, mart: str, period: Period) -> bool:
    """Whether one mart covers `period` (the rules in the module docstring)."""
    if mart in UNDATED_MARTS:
        return True
    if mart in AS_OF_MARTS:
        row = conn.execute(
            sql.SQL("""
            select last_order_date + days_since_last_order from {}.{} limit 1
        """).format(identifier(), sql.Identifier(mart))
        ).fetchone()
        return row is not None and row[0] is not None and row[0] >= period.end
    column = DATE_COLUMNS[mart]
    # `exists` stops at the first matching row; the date columns are indexed.
    row = conn.execute(
        sql.SQL("""
        select exists (
            select 1 from {schema}.{mart}
            where {column} = %(end)s and refreshed_at >= (%(end)s::date + 1)::timestamp at time zone %(zone)s
        )
    """).format(schema=identifier(), mart=sql.Identifier(mart), column=sql.Identifier(column)),
        {"end": period.end, "zone": settings_module.load().business_timezone},
    ).fetchone()
    return bool(row[0])
