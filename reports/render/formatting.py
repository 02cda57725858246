"""Formatting the formats share: values with their unit, changes and their colour,
headings, chart labels and the sentences that stand in for a chart or for rows a
PDF leaves out, the period, filters, footnotes and the footer, and keeping text
cells inert in spreadsheets."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from reports.datasets import Chart, Column, Kpi, ReportDataset, Table

NUMERIC_KINDS = ("int", "money", "rate", "minutes", "number")
"""Kinds of value shown right-aligned (and as numbers in spreadsheets)."""
TONE_COLOURS = {"good": "1A7F37", "bad": "CF222E", "neutral": "57606A"}
"""The colour of a change vs the previous period (Kpi.tone), as RGB hex."""
ARROWS = {1: "▲", -1: "▼", 0: "="}
LABEL_ROOM = 110
"""Characters of category labels a chart's width holds side by side, unrotated;
with more, its bars are drawn horizontally, labels read left to right."""
CHART_LABEL_MAX = 26
"""The longest category label a chart shows; longer ones are shortened in the middle."""


def format_value(value, kind: str) -> str:
    """A value as text: money and rates with 2 decimals and thousands separators."""
    if value is None:
        return "–"
    if kind in ("money", "rate", "minutes", "number"):
        return f"{Decimal(value):,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP's
CSV injection list, with the line feed and NUL of ASVS 1.2.10)."""


def is_formula_like(value) -> bool:
    """Whether a cell value is text a spreadsheet would evaluate: a partner named
    `=HYPERLINK(...)` must reach finance as that text, not as a live link. Numbers,
    negative ones included, are never text."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def inert_text(value):
    """A CSV cell value: text a spreadsheet would evaluate is prefixed with a single
    quote, which spreadsheets read as "this is text"; anything else is unchanged."""
    return "'" + value if is_formula_like(value) else value


def unit(kind: str, currency: str) -> str:
    """The unit of a kind of value: the currency of money, "%" of a rate, "" of a count."""
    return {"money": currency, "rate": "%", "minutes": "minutes"}.get(kind, "")


def format_amount(value, kind: str, currency: str) -> str:
    """A value as a KPI shows it: money with its currency ("EUR 1,234.50")."""
    text = format_value(value, kind)
    return f"{currency} {text}" if kind == "money" and value is not None else text


def heading(column: Column, currency: str) -> str:
    """A column's heading: money columns name their currency, "Revenue (EUR)"."""
    return f"{column.label} ({currency})" if column.kind == "money" else column.label


def format_change(kpi: Kpi, currency: str = "") -> str:
    """ "▲ +6.60% vs previous period (EUR 244,992.50)"; of a rate in percentage
    points, "▲ +0.97 pp vs previous period (13.77)"."""
    change = kpi.change
    if change is None:
        return "no comparison" if kpi.previous in (None, 0) else "–"
    sign = (change > 0) - (change < 0)
    amount = f"{abs(change):,.2f}" + (" pp" if kpi.change_unit == "pp" else "%")
    previous = format_amount(kpi.previous, kpi.kind, currency) if currency else format_value(kpi.previous, kpi.kind)
    return f"{ARROWS[sign]} {'+−'[sign < 0] if sign else ''}{amount} vs previous period ({previous})"


def change_colour(kpi: Kpi) -> str:
    """The change's colour: green when it is good news for this KPI, red when bad,
    grey when neither (or no change)."""
    return TONE_COLOURS[kpi.tone]


# --- charts -----------------------------------------------------------------------------


def shorten_middle(text: str, limit: int = CHART_LABEL_MAX) -> str:
    """`text` within `limit` characters, cut in the middle, where names of one
    family are alike and their ends tell them apart: "Crisp Sil…Laundry 12"."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head].rstrip() + "…" + text[len(text) - (limit - 1 - head) :].lstrip()


def chart_labels(chart: Chart, table: Table) -> list[str]:
    """The category labels of a chart: each x value as text, long ones shortened."""
    x_column, _ = chart.columns(table)
    return [shorten_middle(format_value(x, x_column.kind)) for x, _ in chart.points(table)[1]]


def still_changing(dataset: ReportDataset, chart: Chart) -> list[bool]:
    """For each point of a chart, whether it is a day whose figures can still change
    (ReportDataset.changing_days): drawn apart, so that an unfinished day never
    reads as a drop."""
    table = dataset.table(chart.table)
    x_column, _ = chart.columns(table)
    return [x_column.kind == "date" and x in dataset.changing_days for x, _ in chart.points(table)[1]]


CHANGING_LEGEND = "can still change (see the notices)"


def label_step(labels: list[str]) -> int:
    """Show every n-th category label of a line chart, so that those shown fit side by side unrotated."""
    longest = max((len(label) for label in labels), default=0) + 3
    return max(1, math.ceil(len(labels) * longest / LABEL_ROOM))


def horizontal_bars(labels: list[str]) -> bool:
    """Whether a bar chart's labels are too long to stand side by side unrotated."""
    return len(labels) * max((len(label) + 2 for label in labels), default=0) > LABEL_ROOM


def axis_titles(chart: Chart, table: Table, currency: str) -> tuple[str, str]:
    """(category axis, value axis) titles: the columns' labels, money with its currency."""
    x_column, y_column = chart.columns(table)
    return x_column.label, heading(y_column, currency)


def no_data_sentence(dataset: ReportDataset, chart: Chart) -> str:
    """What a report says instead of a chart with nothing to draw (the chart's
    title says how the filter narrows it)."""
    where = " for this report's filter" if dataset.filters else ""
    if any(still_changing(dataset, chart)):  # an open or unfinished day: nothing yet, not nothing
        return (
            f"{chart.title}: no data yet in the period ({dataset.period.label()}){where}, whose figures can "
            "still change (see the notices), so there is no chart."
        )
    return f"{chart.title}: no data in the period ({dataset.period.label()}){where}, so there is no chart."


def no_rows_sentence(dataset: ReportDataset) -> str:
    """What a report says in place of a table without rows."""
    where = " for this report's filter" if dataset.filters else ""
    return f"No rows in the period ({dataset.period.label()}){where}."


def chart_only_sentence(table: Table) -> str:
    """What a PDF says under the chart whose table it leaves to Excel and CSV."""
    rows = "The row of this chart is" if len(table.rows) == 1 else f"The {len(table.rows):,} rows of this chart are"
    return f"{rows} in the Excel file (sheet “{table.sheet}”) and the CSV file ({table.name}.csv)."


def trimmed_sentence(table: Table) -> str | None:
    """What a PDF says over a table it trims to its first and last rows; None when it shows every row."""
    first, left_out, last = table.pdf_rows()
    if not left_out:
        return None
    return (
        f"The top {len(first)} and bottom {len(last)} of {len(table.rows):,} {table.trim[2]}; the Excel file "
        f"(sheet “{table.sheet}”) and the CSV file ({table.name}.csv) list all {len(table.rows):,}."
    )


def period_text(dataset: ReportDataset) -> str:
    p = dataset.period
    span = p.start.isoformat() if p.days == 1 else f"{p.start.isoformat()} to {p.end.isoformat()}"
    return f"{p.label()} ({span}, order dates)"


def filters_text(dataset: ReportDataset) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dataset.filters.items())) or "none"


def numbered(footnotes: list[str]) -> list[str]:
    return [f"Note {n}: {text}" for n, text in enumerate(footnotes, start=1)]


def footer_text(dataset: ReportDataset) -> str:
    refreshed = dataset.data_refreshed_at.strftime("%Y-%m-%d %H:%M UTC") if dataset.data_refreshed_at else "unknown"
    return f"LaundryConnect · {dataset.title} · {period_text(dataset)} · data as of {refreshed}"
