"""Formatting the formats share: values, changes, the period, filters, footnotes and
the footer, and keeping text cells inert in spreadsheets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reports.datasets import Kpi, ReportDataset

NUMERIC_KINDS = ("int", "money", "rate", "minutes", "number")
"""Kinds of value shown right-aligned (and as numbers in spreadsheets)."""


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


def format_change(kpi: Kpi) -> str:
    change = kpi.change_percent
    if change is None:
        return "no comparison" if kpi.previous in (None, 0) else "–"
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    return f"{arrow} {abs(change):,.2f}% vs previous period ({format_value(kpi.previous, kpi.kind)})"


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
