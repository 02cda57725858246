"""Render a ReportDataset as PDF (fpdf2 + matplotlib), Excel (openpyxl, native
charts) or CSV (one table per file, zipped). All three show the same numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reports.datasets import Chart, Kpi, ReportDataset, Table

MIME_TYPES = {  # by file extension
    "pdf": ("application", "pdf"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "zip": ("application", "zip"),
}
EXTENSIONS = {"pdf": "pdf", "excel": "xlsx", "csv": "zip"}


@dataclass(frozen=True)
class RenderedFile:
    file_name: str
    content: bytes
    format: str
    rows: int

    @property
    def mime_type(self) -> tuple[str, str]:
        return MIME_TYPES[self.file_name.rsplit(".", 1)[-1]]


def file_stem(dataset: ReportDataset, name: str | None = None) -> str:
    """e.g. `weekly-revenue_2026-W27`: the schedule (or report type) and the period."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or dataset.report_type).lower()).strip("-") or dataset.report_type
    return f"{slug}_{dataset.period.label()}"


def render(dataset: ReportDataset, fmt: str, name: str | None = None) -> RenderedFile:
    renderer = {"pdf": render_pdf, "excel": render_xlsx, "csv": render_csv}[fmt]
    return RenderedFile(f"{file_stem(dataset, name)}.{EXTENSIONS[fmt]}", renderer(dataset), fmt, dataset.rows)


# --- formatting shared by the formats ------------------------------------------------


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


# --- PDF -----------------------------------------------------------------------------


def _font_path() -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def chart_png(dataset: ReportDataset, chart: Chart) -> bytes:
    """A chart as PNG bytes (matplotlib, Agg), sized for an A4 page width."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    table = dataset.table(chart.table)
    xi = [c.name for c in table.columns].index(chart.x)
    yi = [c.name for c in table.columns].index(chart.y)
    rows = table.rows[:chart.limit] if chart.limit else table.rows
    xs = [str(r[xi]) if r[xi] is not None else "–" for r in rows]
    ys = [float(r[yi] or 0) for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 2.8), dpi=150)
    if chart.kind == "line":
        ax.plot(range(len(ys)), ys, color="#1f6feb", linewidth=1.6)
        step = max(1, len(xs) // 8)
        ax.set_xticks(range(0, len(xs), step), [xs[i] for i in range(0, len(xs), step)], rotation=30, ha="right",
                      fontsize=7)
    else:
        ax.bar(range(len(ys)), ys, color="#1f6feb")
        ax.set_xticks(range(len(xs)), [x[:18] for x in xs], rotation=30, ha="right", fontsize=7)
    ax.set_title(chart.title, fontsize=10)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    if table.columns[yi].kind == "int":  # counts: whole-number ticks, not 0, 0, 1, 1 from rounded fractions
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def render_pdf(dataset: ReportDataset) -> bytes:
    from fpdf import FPDF

    footer = footer_text(dataset)

    class ReportPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=7)
            self.set_text_color(110)
            self.cell(0, 5, f"{footer} · page {self.page_no()}/{{nb}}", align="C")

    pdf = ReportPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"{dataset.title} {dataset.period.label()}")
    pdf.set_creator("LaundryConnect Analytics")
    pdf.add_font("DejaVu", "", _font_path())
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    pdf.set_font("DejaVu", size=18)
    pdf.cell(0, 10, dataset.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    pdf.cell(0, 6, f"Period: {period_text(dataset)}", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, f"Compared with: {dataset.previous.label()}   Filters: {filters_text(dataset)}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=8.5)
    for line in dataset.scope:
        pdf.multi_cell(0, 4.5, f"Filter: {line}", new_x="LMARGIN", new_y="NEXT")
    for notice in dataset.notices:
        pdf.set_text_color(170, 30, 30)
        pdf.multi_cell(0, 4.5, f"Notice: {notice}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.ln(2)
    _pdf_kpis(pdf, dataset.kpis)
    pdf.set_font("DejaVu", size=7.5)
    for line in numbered(dataset.footnotes):
        pdf.multi_cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1 if dataset.footnotes else 0)
    for chart in dataset.charts:
        png = chart_png(dataset, chart)
        if pdf.will_page_break(72):
            pdf.add_page()
        pdf.image(io.BytesIO(png), w=pdf.epw)
        pdf.ln(2)
    for table in dataset.tables:
        _pdf_table(pdf, table)
    return bytes(pdf.output())


def _pdf_kpis(pdf, kpis: list[Kpi]) -> None:
    """KPI tiles, three a row: label (two lines at most, smaller when long),
    value, change vs the previous period, and the KPI's note."""
    per_row = 3
    width = (pdf.epw - 4 * (per_row - 1)) / per_row
    for start in range(0, len(kpis), per_row):
        y = pdf.get_y()
        if pdf.will_page_break(30):
            pdf.add_page()
            y = pdf.get_y()
        for i, kpi in enumerate(kpis[start:start + per_row]):
            x = pdf.l_margin + i * (width + 4)
            pdf.set_fill_color(243, 246, 250)
            pdf.rect(x, y, width, 27, style="F")
            pdf.set_font("DejaVu", size=8)
            if pdf.get_string_width(kpi.label) > width - 4 - 2 * pdf.c_margin:
                pdf.set_font("DejaVu", size=6.5)
            for n, line in enumerate(pdf.multi_cell(width - 4, 3.2, kpi.label, dry_run=True, output="LINES")[:2]):
                pdf.set_xy(x + 2, y + 1.5 + 3.2 * n)
                pdf.cell(width - 4, 3.2, line)
            pdf.set_xy(x + 2, y + 8.5)
            pdf.set_font("DejaVu", size=14)
            pdf.cell(width - 4, 7, format_value(kpi.value, kpi.kind))
            pdf.set_xy(x + 2, y + 16.5)
            pdf.set_font("DejaVu", size=6.5)
            pdf.cell(width - 4, 4, format_change(kpi))
            if kpi.note:
                pdf.set_xy(x + 2, y + 21)
                pdf.set_text_color(170, 30, 30)
                if pdf.get_string_width(kpi.note) > width - 4 - 2 * pdf.c_margin:
                    pdf.set_font("DejaVu", size=5.5)
                pdf.cell(width - 4, 4, _fit(pdf, kpi.note, width - 4))
                pdf.set_text_color(0)
        pdf.set_xy(pdf.l_margin, y + 30)
    pdf.ln(1)


def _pdf_table(pdf, table: Table) -> None:
    """A table drawn cell by cell (fpdf2's table() lays out each cell and takes
    seconds for thousands of rows); the header row is repeated on every page."""
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.cell(0, 8, f"{table.title} ({len(table.rows):,} rows)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=7.5)
    numeric = [c.kind in ("int", "money", "rate", "minutes", "number") for c in table.columns]
    texts = [[format_value(v, c.kind) for v, c in zip(row, table.columns)] for row in table.rows]
    widths = _column_widths(pdf, table, texts)
    line = 4.6

    def header() -> None:
        pdf.set_fill_color(225, 232, 240)
        for column, width, right in zip(table.columns, widths, numeric):
            pdf.cell(width, line + 0.6, column.label, border="B", align="R" if right else "L", fill=True)
        pdf.ln(line + 0.6)

    header()
    for index, row in enumerate(texts):
        if pdf.will_page_break(line):
            pdf.add_page()
            pdf.set_font("DejaVu", size=7.5)
            header()
        fill = index % 2 == 1
        pdf.set_fill_color(247, 249, 251)
        for text, width, right in zip(row, widths, numeric):
            pdf.cell(width, line, _fit(pdf, text, width), align="R" if right else "L", fill=fill)
        pdf.ln(line)
    pdf.ln(3)


def _column_widths(pdf, table: Table, texts: list[list[str]]) -> list[float]:
    """Widths from the widest label or value of each column, scaled to the page."""
    widths = []
    for i, column in enumerate(table.columns):
        longest = max([column.label, *(row[i] for row in texts)], key=len)
        widths.append(max(pdf.get_string_width(column.label), pdf.get_string_width(longest)) + 2.5)
    scale = pdf.epw / sum(widths)
    return [w * scale for w in widths] if scale < 1 or len(widths) > 3 else widths


def _fit(pdf, text: str, width: float) -> str:
    """Text that fits its cell; a longer one is shortened with '…' (the Excel and
    CSV files carry it in full)."""
    if len(text) * 2.7 < width or pdf.get_string_width(text) <= width - 1:  # 2.7 mm: widest glyph at 7.5 pt
        return text
    while text and pdf.get_string_width(text + "…") > width - 1:
        text = text[:-1]
    return text + "…"


# --- Excel ---------------------------------------------------------------------------

NUMBER_FORMATS = {"money": "#,##0.00", "rate": "0.00", "minutes": "#,##0.00", "number": "0.00",
                  "int": "#,##0", "date": "yyyy-mm-dd", "text": "@"}


def _append(ws, values: list) -> None:
    """Append a row; text a spreadsheet would evaluate is stored as a string with
    Excel's quote prefix (openpyxl otherwise writes any text starting with '=' as a
    formula), so it shows, and stays after an edit, as the text it is."""
    ws.append(values)
    for column, value in enumerate(values, start=1):
        if is_formula_like(value):
            cell = ws.cell(ws.max_row, column)
            cell.data_type = "s"
            cell.quotePrefix = True


def render_xlsx(dataset: ReportDataset) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _append(summary, [dataset.title])
    summary["A1"].font = Font(size=16, bold=True)
    _append(summary, ["Period", period_text(dataset)])
    _append(summary, ["Compared with", dataset.previous.label()])
    _append(summary, ["Filters", filters_text(dataset)])
    for line in dataset.scope:
        _append(summary, ["Filter", line])
    for notice in dataset.notices:
        _append(summary, ["Notice", notice])
        summary.cell(summary.max_row, 2).font = Font(color="AA1E1E")
    summary.append([])
    header_row = summary.max_row + 1
    _append(summary, ["KPI", "Value", "Previous period", "Change %", "Note"])
    for cell in summary[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E1E8F0")
    for kpi in dataset.kpis:
        _append(summary, [kpi.label, kpi.value, kpi.previous, kpi.change_percent, kpi.note or None])
        row = summary.max_row
        summary.cell(row, 2).number_format = summary.cell(row, 3).number_format = NUMBER_FORMATS[kpi.kind]
        summary.cell(row, 4).number_format = "0.00"
    summary.freeze_panes = summary.cell(header_row + 1, 1)
    summary.append([])
    for n, text in enumerate(dataset.footnotes, start=1):
        _append(summary, [f"Note {n}", text])
    _append(summary, [footer_text(dataset)])
    for letter, width in zip("ABCDE", (40, 44, 18, 12, 40)):
        summary.column_dimensions[letter].width = width

    sheets = {}
    for table in dataset.tables:
        ws = wb.create_sheet((table.sheet or table.title)[:31].replace("/", "-").replace(":", ""))
        sheets[table.name] = ws
        _append(ws, [c.label for c in table.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="E1E8F0")
        for row in table.rows:
            _append(ws, list(row))  # openpyxl writes Decimal, int, date, str natively
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = NUMBER_FORMATS[column.kind]
            longest = max([len(column.label), *(len(format_value(r[index - 1], column.kind)) for r in table.rows[:500])])
            ws.column_dimensions[letter].width = min(60, longest + 3)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(1, len(table.rows) + 1)}"

    for n, chart in enumerate(dataset.charts):
        table = dataset.table(chart.table)
        ws = sheets[chart.table]
        names = [c.name for c in table.columns]
        x_col, y_col = names.index(chart.x) + 1, names.index(chart.y) + 1
        last = 1 + (min(len(table.rows), chart.limit) if chart.limit else len(table.rows))
        native = LineChart() if chart.kind == "line" else BarChart()
        native.title = chart.title
        native.height, native.width = 7.5, 18
        native.add_data(Reference(ws, min_col=y_col, min_row=1, max_row=max(2, last)), titles_from_data=True)
        native.set_categories(Reference(ws, min_col=x_col, min_row=2, max_row=max(2, last)))
        native.legend = None
        ws.add_chart(native, f"{get_column_letter(len(table.columns) + 2)}2")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- CSV -----------------------------------------------------------------------------


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
    """The KPIs, one row each with its note; then one row per filter, notice and
    footnote ("Filter", "Notice", "Note n" in the kpi column, the text in note)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kpi", "value", "previous", "change_percent", "period_start", "period_end", "note"])
    period = [dataset.period.start.isoformat(), dataset.period.end.isoformat()]
    for kpi in dataset.kpis:
        writer.writerow([inert_text(kpi.label), "" if kpi.value is None else kpi.value, "" if kpi.previous is None else kpi.previous,
                         "" if kpi.change_percent is None else kpi.change_percent, *period, inert_text(kpi.note)])
    notes = [("Filter", line) for line in dataset.scope] + [("Notice", notice) for notice in dataset.notices]
    for kind, text in notes + [(f"Note {n}", text) for n, text in enumerate(dataset.footnotes, start=1)]:
        writer.writerow([kind, "", "", "", *period, inert_text(text)])
    return out.getvalue().encode("utf-8")


def render_csv(dataset: ReportDataset) -> bytes:
    """A zip with summary.csv (the KPIs) and one CSV per table."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.csv", kpis_csv(dataset))
        for table in dataset.tables:
            archive.writestr(f"{table.name}.csv", table_csv(table))
    return out.getvalue()
