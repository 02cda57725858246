"""One dataset per report type, read from the marts through the query API.

A dataset is what every format renders: title, period, KPI tiles with the change
vs the previous period, tables with typed columns, and chart specs. PDF, Excel
and CSV render the same dataset, so they show the same numbers, and those are the
marts' numbers (laundry_analytics.analytics reads only the marts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import analytics, database
from laundry_analytics import settings as settings_module
from reports.periods import Period

KINDS = ("text", "int", "money", "rate", "minutes", "date", "number")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[tuple]


@dataclass(frozen=True)
class Kpi:
    label: str
    value: Decimal | int | None
    previous: Decimal | int | None
    kind: str

    @property
    def change_percent(self) -> Decimal | None:
        """Change vs the previous period in percent; None when that was 0 or unknown."""
        if self.value is None or self.previous is None:
            return None
        return analytics.rate(Decimal(self.value) - Decimal(self.previous), self.previous)


@dataclass(frozen=True)
class Chart:
    title: str
    kind: str  # "line" or "bar"
    table: str
    x: str
    y: str


@dataclass
class ReportDataset:
    report_type: str
    title: str
    period: Period
    previous: Period
    kpis: list[Kpi]
    tables: list[Table]
    charts: list[Chart]
    filters: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    data_refreshed_at: dt.datetime | None = None

    @property
    def rows(self) -> int:
        return sum(len(t.rows) for t in self.tables)

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period (the first KPI, the period's volume, is 0)."""
        return self.kpis[0].value in (0, None)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


TITLES = {"revenue": "Revenue report", "orders": "Orders report", "partners": "Partner performance report",
          "customers": "Customer report"}


def build_dataset(report_type: str, period: Period, filters: dict | None = None, *, allow_pii: bool = False,
                  conn: psycopg.Connection | None = None) -> ReportDataset:
    """The dataset of a report for a period, with the schedule's filters."""
    filters = dict(filters or {})
    if filters.get("window_days"):
        period = Period(period.end - dt.timedelta(days=filters["window_days"] - 1), period.end)
    previous = period.previous()
    partner = filters.get("partner_id")
    builder = {"revenue": _revenue, "orders": _orders, "partners": _partners, "customers": _customers}[report_type]
    with database.borrowed(conn, row_factory=dict_row) as c:
        current = analytics.payload(report_type, period.start, period.end, partner, conn=c)
        before = analytics.payload(report_type, previous.start, previous.end, partner, conn=c)
        dataset = builder(current, before, filters, allow_pii, c)
        refreshed = c.execute(sql.SQL("select max(refreshed_at) as at from {}.fct_orders").format(
            sql.Identifier(settings_module.load().analytics_schema))).fetchone()["at"]
    dataset.report_type, dataset.title = report_type, TITLES[report_type]
    dataset.period, dataset.previous, dataset.filters, dataset.data_refreshed_at = period, previous, filters, refreshed
    return dataset


def _dataset(kpis, tables, charts) -> ReportDataset:
    return ReportDataset("", "", Period(dt.date.min, dt.date.min), Period(dt.date.min, dt.date.min),
                         kpis, tables, charts)


def _kpi(label, current: dict, before: dict, path: tuple[str, ...], kind: str) -> Kpi:
    def dig(payload):
        for key in path:
            payload = payload[key]
        return payload
    return Kpi(label, dig(current), dig(before), kind)


def _table(name, title, columns: list[tuple[str, str, str]], records: list[dict]) -> Table:
    cols = [Column(*c) for c in columns]
    return Table(name, title, cols, [tuple(record.get(c.name) for c in cols) for record in records])


def _only_category(records: list[dict], filters: dict) -> list[dict]:
    wanted = filters.get("service_category")
    return [r for r in records if wanted is None or r["category"] == wanted]


def _revenue(p, before, filters, allow_pii, conn) -> ReportDataset:
    kpis = [
        _kpi("Orders", p, before, ("totals", "total_orders"), "int"),
        _kpi("Total revenue", p, before, ("totals", "total_revenue"), "money"),
        _kpi("Net revenue", p, before, ("totals", "net_revenue"), "money"),
        _kpi("Paid orders", p, before, ("totals", "paid_orders"), "int"),
        _kpi("Average order value", p, before, ("totals", "average_order_value"), "money"),
        _kpi("Refunds", p, before, ("totals", "refund_amount"), "money"),
    ]
    tables = [
        _table("daily", "Daily revenue", [("date", "Date", "date"), ("total_orders", "Orders", "int"),
               ("total_revenue", "Revenue", "money"), ("refund_amount", "Refunds", "money"),
               ("net_revenue", "Net revenue", "money")], p["daily_trend"]),
        _table("payment_methods", "Revenue by payment method", [("method", "Method", "text"),
               ("revenue", "Revenue", "money"), ("share", "Share %", "rate")], p["by_payment_method"]),
        _table("categories", "Item sales by service category (paid orders)", [("category", "Category", "text"),
               ("item_sales", "Item sales", "money"), ("quantity", "Quantity", "int"), ("orders", "Orders", "int")],
               _only_category(p["by_service_category"], filters)),
        _table("top_services", "Top services", [("service", "Service", "text"), ("category", "Category", "text"),
               ("item_sales", "Item sales", "money"), ("quantity", "Quantity", "int")],
               _only_category(p["top_services"], filters)),
    ]
    charts = [Chart("Daily revenue", "line", "daily", "date", "total_revenue"),
              Chart("Revenue by payment method", "bar", "payment_methods", "method", "revenue")]
    return _dataset(kpis, tables, charts)


def _orders(p, before, filters, allow_pii, conn) -> ReportDataset:
    kpis = [
        _kpi("Orders", p, before, ("totals", "total_orders"), "int"),
        _kpi("Completed", p, before, ("totals", "completed_orders"), "int"),
        _kpi("Cancelled", p, before, ("totals", "cancelled_orders"), "int"),
        _kpi("Completion rate %", p, before, ("completion_rate",), "rate"),
        _kpi("Cancellation rate %", p, before, ("cancellation_rate",), "rate"),
        _kpi("Avg total minutes", p, before, ("average_minutes", "total"), "minutes"),
    ]
    tables = [
        _table("status", "Orders by status", [("status", "Status", "text"), ("orders", "Orders", "int")], p["by_status"]),
        _table("hours", "Orders by local hour", [("hour", "Hour", "int"), ("orders", "Orders", "int")], p["by_hour"]),
        _table("weekdays", "Orders by day of week", [("day", "Day", "text"), ("orders", "Orders", "int")],
               p["by_day_of_week"]),
        _table("categories", "Orders by service category", [("category", "Category", "text"),
               ("orders", "Orders", "int"), ("quantity", "Quantity", "int")],
               _only_category(p["by_service_category"], filters)),
        _table("durations", "Average stage durations (minutes)", [("stage", "Stage", "text"),
               ("minutes", "Minutes", "minutes")],
               [{"stage": stage, "minutes": minutes} for stage, minutes in p["average_minutes"].items()]),
    ]
    charts = [Chart("Orders by local hour", "bar", "hours", "hour", "orders"),
              Chart("Orders by status", "bar", "status", "status", "orders")]
    return _dataset(kpis, tables, charts)


_PARTNER_COLUMNS = [("business_name", "Partner", "text"), ("city", "City", "text"),
                    ("orders_received", "Received", "int"), ("orders_accepted", "Accepted", "int"),
                    ("orders_completed", "Completed", "int"), ("revenue", "Revenue", "money"),
                    ("acceptance_rate", "Acceptance %", "rate"), ("completion_rate", "Completion %", "rate"),
                    ("average_rating", "Rating", "number")]


def _partners(p, before, filters, allow_pii, conn) -> ReportDataset:
    window = analytics.make_window(p["period"]["start"], p["period"]["end"], filters.get("partner_id"), conn=conn)
    partners = analytics.partner_totals(conn, window)
    if filters.get("city"):
        partners = [row for row in partners if row["city"] == filters["city"]]
    partners.sort(key=lambda row: (-row["revenue"], row["business_name"] or "", row["partner_id"]))
    kpis = [
        _kpi("Orders received", p, before, ("totals", "orders_received"), "int"),
        _kpi("Revenue", p, before, ("totals", "revenue"), "money"),
        _kpi("Partners with orders", p, before, ("totals", "partners_with_orders"), "int"),
        _kpi("Avg acceptance rate %", p, before, ("average_acceptance_rate",), "rate"),
        _kpi("Avg completion rate %", p, before, ("average_completion_rate",), "rate"),
    ]
    if filters.get("city"):  # KPIs of the city's partners only
        kpis[:3] = [Kpi("Orders received", sum(r["orders_received"] for r in partners), None, "int"),
                    Kpi("Revenue", sum((r["revenue"] for r in partners), Decimal("0.00")), None, "money"),
                    Kpi("Partners with orders", len(partners), None, "int")]
    tables = [
        _table("partners", "Partners", _PARTNER_COLUMNS, partners),
        _table("trend", "Daily trend", [("date", "Date", "date"), ("orders_received", "Orders", "int"),
               ("revenue", "Revenue", "money"), ("partners_with_orders", "Partners", "int")], p["trend"]),
    ]
    charts = [Chart("Orders received per day", "line", "trend", "date", "orders_received"),
              Chart("Top 10 partners by revenue", "bar", "partners", "business_name", "revenue")]
    return _dataset(kpis, tables, charts)


def _customers(p, before, filters, allow_pii, conn) -> ReportDataset:
    kpis = [
        _kpi("Active customers", p, before, ("totals", "active_customers"), "int"),
        _kpi("New customers", p, before, ("totals", "new_customers"), "int"),
        _kpi("Customers", p, before, ("totals", "total_customers"), "int"),
        _kpi("At churn risk", p, before, ("totals", "at_risk_customers"), "int"),
        _kpi("Churn rate %", p, before, ("churn_rate",), "rate"),
        _kpi("Avg lifetime value", p, before, ("totals", "average_lifetime_value"), "money"),
    ]
    top = p["top_customers"]
    if allow_pii:  # the schedule may show PII: the same customers, unmasked
        window = analytics.make_window(p["period"]["start"], p["period"]["end"], filters.get("partner_id"), conn=conn)
        top = analytics.top_customers(conn, window, unmasked=True)
    tables = [
        _table("segments", "Customer segments", [("segment", "Segment", "text"), ("customers", "Customers", "int")],
               [{"segment": s, "customers": n} for s, n in p["segments"].items()]),
        _table("top_customers", "Top customers by lifetime value" + ("" if allow_pii else " (masked)"),
               [("customer", "Customer", "text"), ("email", "Email", "text"),
                ("lifetime_value", "Lifetime value", "money"), ("total_orders", "Orders", "int"),
                ("segment", "Segment", "text")], top),
        _table("acquisition", "New customers per day", [("date", "Date", "date"),
               ("new_customers", "New customers", "int")], p["acquisition_trend"]),
    ]
    charts = [Chart("New customers per day", "line", "acquisition", "date", "new_customers"),
              Chart("Customer segments", "bar", "segments", "segment", "customers")]
    return _dataset(kpis, tables, charts)


def rows_as_dicts(table: Table) -> list[dict]:
    return [dict(zip([c.name for c in table.columns], row)) for row in table.rows]

