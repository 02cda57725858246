"""What a payload type is: one record that says everything the project needs to
know about it (laundry_analytics.analytics.registry holds them).

A type's record names its payload function, the marts it reads, how long its
cached payload stays fresh, its JSON Schema, the filters it applies and, when it
is also an emailed report, the report's layout. The layout is data: KPIs (a
label, a path into the payload, a kind of value), tables (columns and where
their rows come from), charts and footnotes, which the reports package's
generic dataset builder (reports.datasets) turns into a report. So a new type is
one module with its payload function and its record, and one registry entry.

A KPI says which way is good (`better`: a rise in refunds or cancellations is
bad news, in revenue good news), so a report can colour its change. A table
names its Excel sheet (31 characters at most), the columns its totals row adds
up, whether the PDF shows it in full, trimmed to its first and last rows, or
only as its chart (the Excel and CSV files always hold every row).

Labels and titles are written for the unfiltered report; `words` says how a
report's filters qualify them (reports.caveats.Scope.label):

- "orders": a figure over orders, "Total revenue (orders of Sparkle)";
- "order_count": a count of orders, "Paid orders with a Shoe Care item";
- "partners": a figure over partners, "Revenue (Lisbon partners)";
- "partner_count": the number of partners, "Lisbon partners with orders";
- "customer_count": a count of customers, "New customers of Sparkle";
- "customers": a figure about customers, "Churn rate % (Sparkle's customers)";
- "none": as written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from laundry_analytics.analytics.windows import Window

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"
"""The JSON Schemas of the built-in payload types."""

VALUE_KINDS = ("text", "int", "money", "rate", "minutes", "date", "number")
"""How a value is formatted in a report (reports.render.formatting.format_value)."""
WORDS = ("orders", "order_count", "partners", "partner_count", "customer_count", "customers", "none")
"""How a report's filters can qualify a label (see the module docstring)."""
BETTER = ("up", "down", "neither")
"""Which change of a KPI is good news: a rise ("up"), a fall ("down"), or neither."""
SUMMABLE_KINDS = ("int", "money")
"""Kinds of value a totals row may add up (rates, averages and durations do not add up)."""
SHEET_NAME_MAX = 31
"""Excel's limit on a sheet's name."""
SHEET_NAME_FORBIDDEN = set("[]:*?/\\")
"""Characters Excel refuses in a sheet's name."""

RowSource = Callable[[psycopg.Connection, Window], list[dict]]
"""Rows a report table reads from the marts beyond its payload: (connection, the
report period's window with its filters) -> rows."""


@dataclass(frozen=True)
class KpiSpec:
    label: str
    path: str
    """Where the value is in the payload: keys joined by dots, e.g. "totals.total_orders"."""
    kind: str
    words: str = "orders"
    better: str = "up"
    """Which change is good news (BETTER): the colour of its change vs the previous period."""
    as_of: bool = False
    """A figure as of the last customer_analytics build (ReportLayout.as_of): the same
    build serves the period and the one it is compared with, and the KPI says so."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    """May hold {as_of} (" as of <date>" when the layout has an as-of date) and {masked}
    (" (masked)" unless the report may show personal data)."""
    columns: tuple[tuple[str, str, str], ...]
    """(key in each row, column label, kind)."""
    rows: str = ""
    """Where the rows are in the payload (a list of objects), dotted like KpiSpec.path."""
    sheet: str = ""
    """The Excel sheet's name: 31 characters at most, none of []:*?/\\, unique in the
    report; empty means the title, which must then obey the same rules (a name is never cut)."""
    total: tuple[str, ...] = ()
    """The columns (of SUMMABLE_KINDS) a totals row adds up, when the rows add up to
    something; the PDF draws it below the table, every other column blank."""
    pdf: str = "table"
    """How the PDF shows the table: "table" (every row), "trim" (the first and last
    rows of a long list, TableSpec.trim) or "chart" (its chart only: a table that
    repeats its chart). The Excel and CSV files always hold every row."""
    trim: tuple[int, int, str] = (15, 5, "rows")
    """With pdf="trim": (first, last, what the rows are, with their order), e.g.
    (15, 5, "partners by revenue")."""
    words: str = "orders"
    filtered_titles: dict[str, str] = field(default_factory=dict)
    """Filter key -> the title when that filter is set, with the value as {<key>}, e.g.
    {"service_category": "Top {service_category} services"}; `words` is then not applied."""
    pairs: bool = False
    """The payload holds an object, not a list: each (key, value) is a row of the two columns."""
    source: RowSource | None = None
    """Rows read from the marts instead of the payload."""
    unmasked_source: RowSource | None = None
    """Rows with personal data unmasked, for the reports allowed to show it."""


@dataclass(frozen=True)
class ChartSpec:
    title: str
    kind: str
    """"line" or "bar"."""
    table: str
    x: str
    y: str
    limit: int | None = None
    """Only the first `limit` rows of the table (a top-N chart)."""
    words: str = "orders"


@dataclass(frozen=True)
class FootnoteSpec:
    """A footnote the report adds when a breakdown does not add up to its KPIs:
    `caveat` names its wording in reports.caveats.FOOTNOTES (which returns None when
    there is nothing to say); `kpis` are the labels of the KPIs it explains."""

    caveat: str
    kpis: tuple[str, ...]


@dataclass(frozen=True)
class ReportLayout:
    """What an emailed report of a payload type shows. The first KPI is the
    period's volume: a report whose first KPI is 0 is empty (not sent unless the
    schedule says so)."""

    kpis: tuple[KpiSpec, ...]
    tables: tuple[TableSpec, ...]
    charts: tuple[ChartSpec, ...] = ()
    footnotes: tuple[FootnoteSpec, ...] = ()
    waits_for: tuple[str, ...] = ()
    """Marts the report waits for beyond those its payload reads (reports.marts)."""
    as_of: str | None = None
    """Path of the payload's as-of date, when its figures describe a build of the marts
    rather than the period (customer segments)."""
    partner_filter: str = "every figure covers this partner's orders only."
    """What the figures cover under a partner_id filter, for the report's header."""


@dataclass(frozen=True)
class PayloadType:
    name: str
    title: str
    compute: Callable[..., dict]
    """compute(start, end, partner_id, *, conn, **filters) -> the payload."""
    marts: tuple[str, ...]
    """The marts the payload reads, for all partners or one: the cache asset's
    dependencies in Dagster and the marts a scheduled report waits for."""
    cache_ttl: dt.timedelta
    """How long its payload in analytics_cache stays fresh."""
    schema: Path
    """The JSON Schema (draft 2020-12) of the payload."""
    filters: tuple[str, ...] = ()
    """The filters beyond partner_id that it applies to every one of its figures."""
    refusals: dict[str, str] = field(default_factory=dict)
    """Filter key -> why this type does not apply it, for the refusal of a report schedule."""
    report: ReportLayout | None = None
    """Its emailed report; None when the type is a dashboard payload only."""


def layout_problems(layout: ReportLayout) -> list[str]:
    """What is inconsistent in a report layout (empty when nothing): unknown kinds of
    value or of label words, charts of tables it does not have, footnotes on KPIs it
    does not have, sheet names Excel refuses, totals of columns that do not add up."""
    problems = _table_problems(layout)
    kinds = [kpi.kind for kpi in layout.kpis] + [kind for table in layout.tables for _, _, kind in table.columns]
    problems += [
        f"unknown kind {kind!r} (choose from {', '.join(VALUE_KINDS)})" for kind in kinds if kind not in VALUE_KINDS
    ]
    words = [spec.words for spec in (*layout.kpis, *layout.tables, *layout.charts)]
    problems += [f"unknown words {word!r} (choose from {', '.join(WORDS)})" for word in words if word not in WORDS]
    problems += [
        f"KPI {kpi.label!r}: better {kpi.better!r} is not one of {', '.join(BETTER)}"
        for kpi in layout.kpis
        if kpi.better not in BETTER
    ]
    tables = {table.name: [name for name, _, _ in table.columns] for table in layout.tables}
    for chart in layout.charts:
        if not {chart.x, chart.y} <= set(tables.get(chart.table, ())):
            problems.append(
                f"chart {chart.title!r} plots {chart.x}, {chart.y} of table {chart.table!r}, which has no such columns"
            )
    labels = {kpi.label for kpi in layout.kpis}
    problems += [
        f"footnote {note.caveat!r} is on KPIs the layout does not have: {', '.join(set(note.kpis) - labels)}"
        for note in layout.footnotes
        if not set(note.kpis) <= labels
    ]
    if not layout.kpis:
        problems.append("a report needs at least one KPI (the first is the period's volume)")
    return problems


def sheet_name(table: TableSpec) -> str:
    """The Excel sheet's name of a table: its `sheet`, else its title."""
    return table.sheet or table.title


def _table_problems(layout: ReportLayout) -> list[str]:
    problems = []
    sheets = [sheet_name(table) for table in layout.tables]
    for table in layout.tables:
        name = sheet_name(table)
        if (
            not 0 < len(name) <= SHEET_NAME_MAX
            or name != name.strip()
            or name.startswith("'")
            or set(name) & SHEET_NAME_FORBIDDEN
            or "{" in name
        ):
            problems.append(
                f"table {table.name!r}: sheet name {name!r} must be 1-{SHEET_NAME_MAX} characters, "
                "without []:*?/\\, a leading apostrophe, spaces at either end or a {placeholder} "
                "(give the table a `sheet`)"
            )
        if sheets.count(name) > 1 or name.lower() == "summary":
            problems.append(f"table {table.name!r}: sheet name {name!r} is taken (Summary or another table)")
        kinds = {key: kind for key, _, kind in table.columns}
        problems += [
            f"table {table.name!r}: a totals row cannot add up column {key!r} (of kind "
            f"{kinds.get(key, 'none')}; only {', '.join(SUMMABLE_KINDS)} add up)"
            for key in table.total
            if kinds.get(key) not in SUMMABLE_KINDS
        ]
        if table.pdf not in ("table", "trim", "chart"):
            problems.append(f"table {table.name!r}: pdf {table.pdf!r} is not one of table, trim, chart")
        if table.pdf == "chart" and not any(chart.table == table.name for chart in layout.charts):
            problems.append(f"table {table.name!r} is shown in the PDF only as its chart, but has no chart")
    return problems
