"""A report as CSV: a zip of summary.csv (the KPIs with their units, filters,
notices and notes) and one CSV per table, every row of it (whatever the PDF
trims), without a totals row: each line of a table is one record."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from reports.datasets import ReportDataset, Table
from reports.render.formatting import inert_text, unit


def table_csv(table: Table) -> bytes:
    """One table as UTF-8 CSV: a header of column names, plain numbers (no
    thousands separators), ISO dates, empty for NULL, text a spreadsheet would
    evaluate prefixed with ' (inert_text); no index column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([inert_text(c.name) for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else inert_text(v) for v in row])
    return out.getvalue().encode("utf-8")


def kpis_csv(dataset: ReportDataset) -> bytes:
    """The KPIs, one row each with its unit (the currency of money, % of a rate), its
    change vs the previous period (change_unit: % of the previous value, or pp,
    percentage points, for a rate) and its note; then one row per filter, notice
    and footnote ("Filter", "Notice", "Note n" in the kpi column, the text in note)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kpi", "value", "unit", "previous", "change", "change_unit", "period_start", "period_end", "note"])
    period = [dataset.period.start.isoformat(), dataset.period.end.isoformat()]
    for kpi in dataset.kpis:
        change = [kpi.change, kpi.change_unit] if kpi.change is not None else ["", ""]
        writer.writerow(
            [
                inert_text(kpi.label),
                _blank(kpi.value),
                unit(kpi.kind, dataset.currency),
                _blank(kpi.previous),
                *change,
                *period,
                inert_text(kpi.note),
            ]
        )
    notes = [("Filter", line) for line in dataset.scope] + [("Notice", notice) for notice in dataset.notices]
    for kind, text in notes + [(f"Note {n}", text) for n, text in enumerate(dataset.footnotes, start=1)]:
        writer.writerow([kind, "", "", "", "", "", *period, inert_text(text)])
    return out.getvalue().encode("utf-8")


def render_csv(dataset: ReportDataset) -> bytes:
    """A zip with summary.csv (the KPIs) and one CSV per table."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.csv", kpis_csv(dataset))
        for table in dataset.tables:
            archive.writestr(f"{table.name}.csv", table_csv(table))
    return out.getvalue()


def _blank(value):
    """An empty cell for a missing value."""
    return "" if value is None else value
