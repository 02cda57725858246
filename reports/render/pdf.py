"""A report as PDF (fpdf2, charts drawn with matplotlib): title, period, filters,
notices, KPI tiles, footnotes, charts, then every table with its header repeated
on each page."""

from __future__ import annotations

import io
from pathlib import Path

from reports.datasets import Chart, Kpi, ReportDataset, Table
from reports.render.formatting import (
    NUMERIC_KINDS,
    filters_text,
    footer_text,
    format_change,
    format_value,
    numbered,
    period_text,
)


def _font_path() -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def chart_png(dataset: ReportDataset, chart: Chart) -> bytes:
    """A chart as PNG bytes (matplotlib, Agg), sized for an A4 page width."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    y_column, points = chart.points(dataset.table(chart.table))
    xs = [str(x) if x is not None else "–" for x, _ in points]
    ys = [float(y or 0) for _, y in points]
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
    if y_column.kind == "int":  # counts: whole-number ticks, not 0, 0, 1, 1 from rounded fractions
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
    numeric = [c.kind in NUMERIC_KINDS for c in table.columns]
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
