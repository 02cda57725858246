"""What a payload type is: one record that says everything the project needs to
know about it (laundry_analytics.analytics.registry holds them).

A type's record names its payload function, the marts it reads, how long its
cached payload stays fresh, its JSON Schema, the filters it applies and, when it
is also an emailed report, the report's layout. The layout is data: KPIs (a
label, a path into the payload, a kind of value), tables (columns and where
their rows come from), charts and footnotes, which the reports package's
generic dataset builder (reports.datasets) turns into a report. So a new type is
one module with its payload function and its record, and one registry entry.

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
    """The Excel sheet's name (31 characters at most); the title when empty."""
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
    does not have."""
    problems = []
    kinds = [kpi.kind for kpi in layout.kpis] + [kind for table in layout.tables for _, _, kind in table.columns]
    problems += [f"unknown kind {kind!r} (choose from {', '.join(VALUE_KINDS)})" for kind in kinds
                 if kind not in VALUE_KINDS]
    words = [spec.words for spec in (*layout.kpis, *layout.tables, *layout.charts)]
    problems += [f"unknown words {word!r} (choose from {', '.join(WORDS)})" for word in words if word not in WORDS]
    tables = {table.name: [name for name, _, _ in table.columns] for table in layout.tables}
    for chart in layout.charts:
        if not {chart.x, chart.y} <= set(tables.get(chart.table, ())):
            problems.append(f"chart {chart.title!r} plots {chart.x}, {chart.y} of table {chart.table!r}, "
                            "which has no such columns")
    labels = {kpi.label for kpi in layout.kpis}
    problems += [f"footnote {note.caveat!r} is on KPIs the layout does not have: {', '.join(set(note.kpis) - labels)}"
                 for note in layout.footnotes if not set(note.kpis) <= labels]
    if not layout.kpis:
        problems.append("a report needs at least one KPI (the first is the period's volume)")
    return problems
