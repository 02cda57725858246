"""The marts each report type reads, and when a mart is ready to report a period.

One definition for both sides: the runner waits for these marts before a due
report is sent (`unready_marts`), and the Dagster sensor also holds a report back
while a blocking check on one of them fails. Nothing here imports Dagster.

Readiness keeps one rule per kind of mart, all meaning "the marts were rebuilt
after the period closed":

- a mart with a row per order date (fct_*, the daily marts, the day rows of
  agg_partner_periods) is ready when it has a row for the period's last date
  written by a run that started after that day ended (in the business time zone);
- customer_analytics, a view whose calendar columns are computed when it is read,
  is ready when the table under it (its data_as_of, laundry_analytics.freshness)
  reflects every ops change up to the end of the period's last day and its
  as_of_date (today, or dbt var as_of_date) is that day or later;
- the dimensions (dim_partners, dim_customers) hold current attributes, not
  periods: never waited for (their checks still gate the report in the sensor).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from laundry_analytics import freshness
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
    "agg_partner_periods": "period_start",
}
#: Of a mart with rows of several grains, the rows with one per order date.
DATE_ROWS: dict[str, str] = {"agg_partner_periods": "period = 'day'"}
AS_OF_MARTS = ("customer_analytics",)
"""Views computed as of the moment they are read, over tables kept current by deltas."""
UNDATED_MARTS = ("dim_partners", "dim_customers", "agg_customers_daily")
"""Current attributes (the dimensions), or rebuilt whole from customer_analytics on
every run (agg_customers_daily, covered by customer_analytics' rule)."""


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
    zone = ZoneInfo(settings_module.load().business_timezone)
    if mart in AS_OF_MARTS:
        data_as_of = freshness.data_as_of([mart], conn)
        period_over = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        row = conn.execute(
            sql.SQL("select as_of_date from {}.{} limit 1").format(identifier(), sql.Identifier(mart))
        ).fetchone()
        as_of_date = row[0] if row else None
        return (
            data_as_of is not None and data_as_of >= period_over and as_of_date is not None and as_of_date >= period.end
        )
    column = DATE_COLUMNS[mart]
    # `exists` stops at the first matching row; the date columns are indexed.
    row = conn.execute(
        sql.SQL("""
        select exists (
            select 1 from {schema}.{mart}
            where {rows} and {column} = %(end)s and refreshed_at >= (%(end)s::date + 1)::timestamp at time zone %(zone)s
        )
    """).format(
            schema=identifier(),
            mart=sql.Identifier(mart),
            column=sql.Identifier(column),
            rows=sql.SQL(DATE_ROWS.get(mart, "true")),
        ),
        {"end": period.end, "zone": zone.key},
    ).fetchone()
    return bool(row[0])
