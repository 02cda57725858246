"""One dataset per report type, read from the marts through the query API.

A dataset is what every format renders: title, period, KPI tiles with the change
vs the previous period, tables with typed columns, chart specs, and what the
report says about its own figures (reports.caveats: the filters' scope, notices
of days that can still change, footnotes). PDF, Excel and CSV render the same
dataset, so they show the same numbers, and those are the marts' numbers
(laundry_analytics.analytics reads only the marts).

A schedule's filters go into the query API for the period and for the previous
period alike, so every figure, chart, table and comparison honours them, and
top-N lists are ranked within the filter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import analytics, database, windows
from laundry_analytics import settings as settings_module
from reports import caveats
from reports.caveats import Scope
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
    sheet: str = ""
    """The Excel sheet's name (31 characters at most); the title when empty."""


@dataclass(frozen=True)
class Kpi:
    label: str
    value: Decimal | int | None
    previous: Decimal | int | None
    kind: str
    notes: tuple[str, ...] = ()
    footnote_numbers: tuple[int, ...] = ()

    @property
    def change_percent(self) -> Decimal | None:
        """Change vs the previous period in percent; None when that was 0 or unknown."""
        if self.value is None or self.previous is None:
            return None
        return analytics.rate(Decimal(self.value) - Decimal(self.previous), self.previous)

    @property
    def note(self) -> str:
        """What the reader must know about this figure or its comparison:
        "see notes 1, 2; period incomplete", or ""."""
        numbers = ", ".join(str(n) for n in self.footnote_numbers)
        see = [f"see note{'s' if len(self.footnote_numbers) > 1 else ''} {numbers}"] if numbers else []
        return "; ".join([*see, *self.notes])

    def noted(self, text: str) -> Kpi:
        return replace(self, notes=(*self.notes, text))


@dataclass(frozen=True)
class Chart:
    title: str
    kind: str  # "line" or "bar"
    table: str
    x: str
    y: str
    limit: int | None = None
    """Only the first `limit` rows of the table (a top-N chart)."""


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
    scope: list[str] = field(default_factory=list)
    """One sentence per filter: what the figures cover under it."""
    footnotes: list[str] = field(default_factory=list)
    """Note n explains the KPIs whose note says "see note n"."""

    @property
    def rows(self) -> int:
        return sum(len(t.rows) for t in self.tables)

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period (the first KPI, the period's volume, is 0)."""
        return self.kpis[0].value in (0, None)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def footnote(self, text: str | None, *labels: str) -> None:
        """Add footnote `text` (None: nothing to say) and point the KPIs of `labels` to it."""
        if text is None:
            return
        self.footnotes.append(text)
        self.kpis = [replace(kpi, footnote_numbers=(*kpi.footnote_numbers, len(self.footnotes)))
                     if kpi.label in labels else kpi for kpi in self.kpis]


def clock() -> dt.datetime:
    """Now, for telling finished days from unfinished ones."""
    return dt.datetime.now(dt.timezone.utc)


TITLES = {"revenue": "Revenue report", "orders": "Orders report", "partners": "Partner performance report",
          "customers": "Customer report"}


def build_dataset(report_type: str, period: Period, filters: dict | None = None, *, allow_pii: bool = False,
                  conn: psycopg.Connection | None = None, now: dt.datetime | None = None) -> ReportDataset:
    """The dataset of a report for a period, with the schedule's filters applied to
    every figure of the period and of the previous period; `now` (default: the
    clock) tells which days are not over yet."""
    filters = dict(filters or {})
    if filters.get("window_days"):
        period = Period(period.end - dt.timedelta(days=filters["window_days"] - 1), period.end)
    previous = period.previous()
    partner = filters.get("partner_id")
    narrowing = {key: filters.get(key) for key in analytics.PAYLOAD_FILTERS[report_type]}
    with database.borrowed(conn, row_factory=dict_row) as c:
        current = analytics.payload(report_type, period.start, period.end, partner, conn=c, **narrowing)
        before = analytics.payload(report_type, previous.start, previous.end, partner, conn=c, **narrowing)
        status = analytics.completeness(period.start, period.end, partner, conn=c, now=now or clock(), **narrowing)
        scope = Scope.of(report_type, filters, windows.partner_name(c, partner) if partner else None)
        dataset = BUILDERS[report_type](current, before, scope, allow_pii, c)
        refreshed = c.execute(sql.SQL("select max(refreshed_at) as at from {}.fct_orders").format(
            sql.Identifier(settings_module.load().analytics_schema))).fetchone()["at"]
    dataset.report_type, dataset.title = report_type, TITLES[report_type]
    dataset.period, dataset.previous, dataset.filters, dataset.data_refreshed_at = period, previous, filters, refreshed
    dataset.scope = scope.lines()
    incomplete = caveats.incomplete_period_notices(status)
    dataset.notices.extend(incomplete)
    if incomplete:
        dataset.kpis = [kpi.noted(caveats.INCOMPLETE) for kpi in dataset.kpis]
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


def _table(name, title, columns: list[tuple[str, str, str]], records: list[dict], sheet: str = "") -> Table:
    cols = [Column(*c) for c in columns]
    return Table(name, title, cols, [tuple(record.get(c.name) for c in cols) for record in records], sheet)


def _revenue(p, before, scope: Scope, allow_pii, conn) -> ReportDataset:
    revenue_label = scope.amount_label("Total revenue")
    kpis = [
        _kpi(scope.count_label("Orders"), p, before, ("totals", "total_orders"), "int"),
        _kpi(revenue_label, p, before, ("totals", "total_revenue"), "money"),
        _kpi(scope.amount_label("Net revenue"), p, before, ("totals", "net_revenue"), "money"),
        _kpi(scope.count_label("Paid orders"), p, before, ("totals", "paid_orders"), "int"),
        _kpi(scope.amount_label("Average order value"), p, before, ("totals", "average_order_value"), "money"),
        _kpi(scope.amount_label("Refunds"), p, before, ("totals", "refund_amount"), "money"),
    ]
    category = scope.service_category
    tables = [
        _table("daily", scope.amount_label("Daily revenue"), [("date", "Date", "date"),
               ("total_orders", "Orders", "int"), ("total_revenue", "Revenue", "money"),
               ("refund_amount", "Refunds", "money"), ("net_revenue", "Net revenue", "money")],
               p["daily_trend"], sheet="Daily revenue"),
        _table("payment_methods", scope.amount_label("Revenue by payment method"), [("method", "Method", "text"),
               ("revenue", "Revenue", "money"), ("share", "Share %", "rate")], p["by_payment_method"],
               sheet="Revenue by payment method"),
        _table("categories", f"Item sales of {category} lines (paid orders)" if category else
               "Item sales by service category (paid orders)", [("category", "Category", "text"),
               ("item_sales", "Item sales", "money"), ("quantity", "Quantity", "int"), ("orders", "Orders", "int")],
               p["by_service_category"], sheet="Item sales by service category"),
        _table("top_services", f"Top {category} services" if category else "Top services",
               [("service", "Service", "text"), ("category", "Category", "text"),
                ("item_sales", "Item sales", "money"), ("quantity", "Quantity", "int")], p["top_services"],
               sheet="Top services"),
    ]
    charts = [Chart(scope.amount_label("Daily revenue"), "line", "daily", "date", "total_revenue"),
              Chart(scope.amount_label("Revenue by payment method"), "bar", "payment_methods", "method", "revenue")]
    dataset = _dataset(kpis, tables, charts)
    dataset.footnote(caveats.payment_method_footnote(p), revenue_label)
    dataset.footnote(caveats.item_sales_footnote(p, scope), revenue_label)
    return dataset


def _orders(p, before, scope: Scope, allow_pii, conn) -> ReportDataset:
    cancelled_label = scope.count_label("Cancelled")
    kpis = [
        _kpi(scope.count_label("Orders"), p, before, ("totals", "total_orders"), "int"),
        _kpi(scope.count_label("Completed"), p, before, ("totals", "completed_orders"), "int"),
        _kpi(cancelled_label, p, before, ("totals", "cancelled_orders"), "int"),
        _kpi(scope.amount_label("Completion rate %"), p, before, ("completion_rate",), "rate"),
        _kpi(scope.amount_label("Cancellation rate %"), p, before, ("cancellation_rate",), "rate"),
        _kpi(scope.amount_label("Avg total minutes"), p, before, ("average_minutes", "total"), "minutes"),
    ]
    category = scope.service_category
    tables = [
        _table("status", scope.amount_label("Orders by status"), [("status", "Status", "text"),
               ("orders", "Orders", "int")], p["by_status"], sheet="Orders by status"),
        _table("hours", scope.amount_label("Orders by local hour"), [("hour", "Hour", "int"),
               ("orders", "Orders", "int")], p["by_hour"], sheet="Orders by local hour"),
        _table("weekdays", scope.amount_label("Orders by day of week"), [("day", "Day", "text"),
               ("orders", "Orders", "int")], p["by_day_of_week"], sheet="Orders by day of week"),
        _table("categories", f"Orders and quantity of {category} lines" if category else "Orders by service category",
               [("category", "Category", "text"), ("orders", "Orders", "int"), ("quantity", "Quantity", "int")],
               p["by_service_category"], sheet="Orders by service category"),
        _table("durations", scope.amount_label("Average stage durations (minutes)"), [("stage", "Stage", "text"),
               ("minutes", "Minutes", "minutes")],
               [{"stage": stage, "minutes": minutes} for stage, minutes in p["average_minutes"].items()],
               sheet="Stage durations (minutes)"),
    ]
    charts = [Chart(scope.amount_label("Orders by local hour"), "bar", "hours", "hour", "orders"),
              Chart(scope.amount_label("Orders by status"), "bar", "status", "status", "orders")]
    dataset = _dataset(kpis, tables, charts)
    dataset.footnote(caveats.category_orders_footnote(p), scope.count_label("Orders"))
    dataset.footnote(caveats.cancelled_footnote(p), cancelled_label)
    dataset.footnote(caveats.durations_footnote(p), scope.amount_label("Avg total minutes"))
    return dataset


_PARTNER_COLUMNS = [("business_name", "Partner", "text"), ("city", "City", "text"),
                    ("orders_received", "Received", "int"), ("orders_accepted", "Accepted", "int"),
                    ("orders_completed", "Completed", "int"), ("revenue", "Revenue", "money"),
                    ("acceptance_rate", "Acceptance %", "rate"), ("completion_rate", "Completion %", "rate"),
                    ("average_rating", "Rating", "number")]


def _partners(p, before, scope: Scope, allow_pii, conn) -> ReportDataset:
    window = analytics.make_window(p["period"]["start"], p["period"]["end"], scope.partner_id, city=scope.city)
    partners = analytics.partner_totals(conn, window)
    partners.sort(key=lambda row: (-row["revenue"], row["business_name"] or "", row["partner_id"]))
    label = scope.partner_label
    kpis = [
        _kpi(label("Orders received"), p, before, ("totals", "orders_received"), "int"),
        _kpi(label("Revenue"), p, before, ("totals", "revenue"), "money"),
        _kpi(scope.partner_count_label(), p, before, ("totals", "partners_with_orders"), "int"),
        _kpi(label("Avg acceptance rate %"), p, before, ("average_acceptance_rate",), "rate"),
        _kpi(label("Avg completion rate %"), p, before, ("average_completion_rate",), "rate"),
    ]
    tables = [
        _table("partners", f"Partners in {scope.city}" if scope.city else "Partners", _PARTNER_COLUMNS, partners,
               sheet="Partners"),
        _table("trend", label("Daily trend"), [("date", "Date", "date"), ("orders_received", "Orders", "int"),
               ("revenue", "Revenue", "money"), ("partners_with_orders", "Partners", "int")], p["trend"],
               sheet="Daily trend"),
    ]
    charts = [Chart(label("Orders received per day"), "line", "trend", "date", "orders_received"),
              Chart(label("Top 10 partners by revenue"), "bar", "partners", "business_name", "revenue", limit=10)]
    dataset = _dataset(kpis, tables, charts)
    dataset.footnote(caveats.orders_without_partner_footnote(p), label("Orders received"), label("Revenue"))
    dataset.footnote(caveats.mean_rates_footnote(partners, p), label("Avg acceptance rate %"),
                     label("Avg completion rate %"))
    return dataset


def _customers(p, before, scope: Scope, allow_pii, conn) -> ReportDataset:
    label = scope.customer_label

    def about(name: str) -> str:
        return scope.customer_label(name, counts_customers=False)
    kpis = [
        _kpi(label("Active customers"), p, before, ("totals", "active_customers"), "int"),
        _kpi(label("New customers"), p, before, ("totals", "new_customers"), "int"),
        _kpi(label("Customers"), p, before, ("totals", "total_customers"), "int"),
        _kpi(about("At churn risk"), p, before, ("totals", "at_risk_customers"), "int"),
        _kpi(about("Churn rate %"), p, before, ("churn_rate",), "rate"),
        _kpi(about("Avg lifetime value"), p, before, ("totals", "average_lifetime_value"), "money"),
    ]
    as_of = p["as_of_date"]
    if as_of:  # the same build serves both periods: say so where it matters
        kpis[3:] = [kpi.noted(f"both periods as of {as_of}") for kpi in kpis[3:]]
    top = p["top_customers"]
    if allow_pii:  # the schedule may show PII: the same customers, unmasked
        window = analytics.make_window(p["period"]["start"], p["period"]["end"], scope.partner_id)
        top = analytics.top_customers(conn, window, unmasked=True)
    as_of_words = f" as of {as_of}" if as_of else ""
    tables = [
        _table("segments", f"Customer segments{as_of_words}", [("segment", "Segment", "text"),
               ("customers", "Customers", "int")], [{"segment": s, "customers": n} for s, n in p["segments"].items()],
               sheet="Customer segments"),
        _table("top_customers", f"Top customers by lifetime value{as_of_words}" + ("" if allow_pii else " (masked)"),
               [("customer", "Customer", "text"), ("email", "Email", "text"),
                ("lifetime_value", "Lifetime value", "money"), ("total_orders", "Orders", "int"),
                ("segment", "Segment", "text")], top, sheet="Top customers by lifetime value"),
        _table("acquisition", label("New customers per day"), [("date", "Date", "date"),
               ("new_customers", "New customers", "int")], p["acquisition_trend"], sheet="New customers per day"),
    ]
    charts = [Chart(label("New customers per day"), "line", "acquisition", "date", "new_customers"),
              Chart(f"Customer segments{as_of_words}", "bar", "segments", "segment", "customers")]
    dataset = _dataset(kpis, tables, charts)
    notice = caveats.customers_as_of_notice(as_of, p["period"]["end"])
    dataset.notices.extend([notice] if notice else [])
    return dataset


BUILDERS = {"revenue": _revenue, "orders": _orders, "partners": _partners, "customers": _customers}


def rows_as_dicts(table: Table) -> list[dict]:
    return [dict(zip([c.name for c in table.columns], row)) for row in table.rows]
