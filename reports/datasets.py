"""The dataset of a report, built from the report layout of its payload type
(laundry_analytics.analytics.payload_type.ReportLayout), read from the marts
through the query API.

A dataset is what every format renders: title, period, KPI tiles with the change
vs the previous period, tables with typed columns, chart specs, and what the
report says about its own figures (reports.caveats: the filters' scope, notices
of days that can still change, footnotes). PDF, Excel and CSV render the same
dataset, so they show the same numbers, and those are the marts' numbers
(laundry_analytics.analytics reads only the marts). One builder serves every
report type: the layout says which payload values are KPIs, which lists are
tables and charts, and which footnotes apply.

A schedule's filters go into the query API for the period and for the previous
period alike, so every figure, chart, table and comparison honours them, and
top-N lists are ranked within the filter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_analytics.analytics import registry, windows
from laundry_analytics.analytics.arithmetic import rate
from laundry_analytics.analytics.completeness import completeness, data_refreshed_at
from laundry_analytics.analytics.payload_type import ChartSpec, ReportLayout, TableSpec, sheet_name
from reports import caveats
from reports.caveats import Scope
from reports.periods import Period


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
    """The Excel sheet's name (31 characters at most, never cut: TableSpec.sheet)."""
    total: tuple[str, ...] = ()
    """The columns its totals row adds up (TableSpec.total); none: no totals row."""
    pdf: str = "table"
    """How the PDF shows it: "table", "trim" or "chart" (TableSpec.pdf)."""
    trim: tuple[int, int, str] = (15, 5, "rows")
    """(first, last, what the rows are) of a trimmed PDF table (TableSpec.trim)."""

    def total_row(self) -> tuple | None:
        """The sums of the `total` columns over every row (not only those a PDF
        shows), None in the other columns; None when the table has no totals row
        (or one row, which would be its own total)."""
        if not self.total or len(self.rows) < 2:
            return None
        return tuple(
            sum((row[i] or 0 for row in self.rows), 0) if column.name in self.total else None
            for i, column in enumerate(self.columns)
        )

    def pdf_rows(self) -> tuple[list[tuple], int, list[tuple]]:
        """(first rows, rows left out, last rows) the PDF shows: every row, unless
        the table is trimmed and longer than its first and last rows together."""
        first, last, _ = self.trim
        if self.pdf != "trim" or len(self.rows) <= first + last:
            return list(self.rows), 0, []
        return list(self.rows[:first]), len(self.rows) - first - last, list(self.rows[-last:] if last else [])


@dataclass(frozen=True)
class Kpi:
    label: str
    value: Decimal | int | None
    previous: Decimal | int | None
    kind: str
    notes: tuple[str, ...] = ()
    footnote_numbers: tuple[int, ...] = ()
    better: str = "up"
    """Which change is good news: "up", "down" or "neither" (KpiSpec.better)."""

    @property
    def change(self) -> Decimal | None:
        """Change vs the previous period: of a rate, the difference in percentage
        points (14.74 vs 13.77 is +0.97 pp, not +7.04 %); of anything else, in percent
        of the previous value. None when unknown, or when the previous value was 0."""
        if self.value is None or self.previous is None:
            return None
        if self.change_unit == "pp":
            return Decimal(self.value) - Decimal(self.previous)
        return rate(Decimal(self.value) - Decimal(self.previous), self.previous)

    @property
    def change_unit(self) -> str:
        """ "pp" (percentage points) for a rate, else "%"."""
        return "pp" if self.kind == "rate" else "%"

    @property
    def tone(self) -> str:
        """ "good", "bad" or "neutral": whether the change is good news for this KPI."""
        change = self.change
        if not change or self.better == "neither":
            return "neutral"
        return "good" if (change > 0) == (self.better == "up") else "bad"

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

    def points(self, table: Table) -> tuple[Column, list[tuple]]:
        """The y column and the (x, y) values the chart plots (the first `limit`
        rows of its table, for a top-N chart)."""
        names = [c.name for c in table.columns]
        x, y = names.index(self.x), names.index(self.y)
        rows = table.rows[: self.limit] if self.limit else table.rows
        return table.columns[y], [(row[x], row[y]) for row in rows]

    def columns(self, table: Table) -> tuple[Column, Column]:
        """The x and y columns of the table the chart plots."""
        by_name = {c.name: c for c in table.columns}
        return by_name[self.x], by_name[self.y]

    def is_empty(self, table: Table) -> bool:
        """Nothing to draw: no rows, or every value 0 or unknown (an axis of zeros
        would only mislead)."""
        return not any(y for _, y in self.points(table)[1])

    def drawn_as(self, table: Table) -> str:
        """ "line" or "bar": a line of one point is no line, so one day is a bar."""
        return "bar" if self.kind == "line" and len(self.points(table)[1]) < 2 else self.kind


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
    currency: str = "EUR"
    """ISO 4217 code of every amount (LAUNDRY_CURRENCY)."""
    personal_data: str | None = None
    """Whether customers' names and emails are "masked" or "shown"; None for a report
    without customer data."""
    changing_days: frozenset[dt.date] = frozenset()
    """The days of the period whose figures can still change (not over yet, or with
    orders still open): the days the notices name, marked on every daily chart."""

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
        self.kpis = [
            replace(kpi, footnote_numbers=(*kpi.footnote_numbers, len(self.footnotes))) if kpi.label in labels else kpi
            for kpi in self.kpis
        ]


def clock() -> dt.datetime:
    """Now, for telling finished days from unfinished ones."""
    return dt.datetime.now(dt.timezone.utc)


def build_dataset(
    report_type: str,
    period: Period,
    filters: dict | None = None,
    *,
    allow_pii: bool = False,
    conn: psycopg.Connection | None = None,
    now: dt.datetime | None = None,
) -> ReportDataset:
    """The dataset of a report for a period, with the schedule's filters applied to
    every figure of the period and of the previous period; `now` (default: the
    clock) tells which days are not over yet."""
    record, layout = registry.get(report_type), registry.report_layout(report_type)
    filters = dict(filters or {})
    if filters.get("window_days"):
        period = Period(period.end - dt.timedelta(days=filters["window_days"] - 1), period.end)
    previous = period.previous()
    partner = filters.get("partner_id")
    narrowing = {key: filters.get(key) for key in record.filters}
    with database.borrowed(conn, row_factory=dict_row) as c:
        current = registry.payload(report_type, period.start, period.end, partner, conn=c, **narrowing)
        before = registry.payload(report_type, previous.start, previous.end, partner, conn=c, **narrowing)
        status = completeness(period.start, period.end, partner, conn=c, now=now or clock(), **narrowing)
        scope = Scope.of(layout, filters, windows.partner_name(c, partner) if partner else None)
        window = windows.make_window(period.start, period.end, partner, **narrowing)
        records = {spec.name: _records(spec, current, c, window, allow_pii) for spec in layout.tables}
        refreshed = data_refreshed_at(c)
    as_of = _dig(current, layout.as_of) if layout.as_of else None
    words = {"as_of": f" as of {as_of}" if as_of else "", "masked": "" if allow_pii else " (masked)", **filters}
    has_personal_data = any(spec.unmasked_source for spec in layout.tables)
    dataset = ReportDataset(
        report_type,
        record.title,
        period,
        previous,
        _kpis(layout, current, before, scope, as_of),
        [_table(spec, records[spec.name], scope, words) for spec in layout.tables],
        [_chart(spec, scope, words) for spec in layout.charts],
        filters=filters,
        data_refreshed_at=refreshed,
        scope=scope.lines(),
        currency=settings_module.load().currency,
        personal_data=("shown" if allow_pii else "masked") if has_personal_data else None,
    )
    for note in layout.footnotes:
        labels = [scope.label(kpi.label, kpi.words) for kpi in layout.kpis if kpi.label in note.kpis]
        dataset.footnote(caveats.FOOTNOTES[note.caveat](current, scope, records), *labels)
    notice = caveats.customers_as_of_notice(as_of, period.end) if layout.as_of else None
    dataset.notices.extend([notice] if notice else [])
    incomplete = caveats.incomplete_period_notices(status)
    dataset.changing_days = frozenset(
        [*status["unfinished_days"], *(row["date"] for row in status["open_orders_by_day"])]
    )
    dataset.notices.extend(incomplete)
    if incomplete:
        dataset.kpis = [kpi.noted(caveats.INCOMPLETE) for kpi in dataset.kpis]
    return dataset


def _dig(payload: dict, path: str):
    """The value at a dotted path of the payload ("totals.total_orders")."""
    for key in path.split("."):
        payload = payload[key]
    return payload


def _kpis(layout: ReportLayout, current: dict, before: dict, scope: Scope, as_of: dt.date | None) -> list[Kpi]:
    kpis = []
    for spec in layout.kpis:
        kpi = Kpi(
            scope.label(spec.label, spec.words),
            _dig(current, spec.path),
            _dig(before, spec.path),
            spec.kind,
            better=spec.better,
        )
        if spec.as_of and as_of:  # the same build serves both periods: say so where it matters
            kpi = kpi.noted(f"both periods as of {as_of}")
        kpis.append(kpi)
    return kpis


def _records(
    spec: TableSpec, payload: dict, conn: psycopg.Connection, window: windows.Window, allow_pii: bool
) -> list[dict]:
    """A table's rows as objects: read from the marts (the schedule may show PII:
    the unmasked source), or from the payload."""
    if allow_pii and spec.unmasked_source:
        return spec.unmasked_source(conn, window)
    if spec.source:
        return spec.source(conn, window)
    value = _dig(payload, spec.rows)
    if spec.pairs:
        key, item = (name for name, _, _ in spec.columns)
        return [{key: k, item: v} for k, v in value.items()]
    return value


def _title(title: str, filtered_titles: dict[str, str], scope: Scope, words: str, values: dict) -> str:
    """A table or chart title: the title for a filter that is set, else the title
    qualified by the filters as `words` says."""
    for key, template in filtered_titles.items():
        if values.get(key):
            return template.format_map(values)
    return scope.label(title.format_map(values), words)


def _table(spec: TableSpec, records: list[dict], scope: Scope, values: dict) -> Table:
    columns = [Column(*column) for column in spec.columns]
    return Table(
        spec.name,
        _title(spec.title, spec.filtered_titles, scope, spec.words, values),
        columns,
        [tuple(record.get(c.name) for c in columns) for record in records],
        sheet_name(spec),
        spec.total,
        spec.pdf,
        spec.trim,
    )


def _chart(spec: ChartSpec, scope: Scope, values: dict) -> Chart:
    return Chart(_title(spec.title, {}, scope, spec.words, values), spec.kind, spec.table, spec.x, spec.y, spec.limit)
