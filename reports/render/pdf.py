"""A report as PDF (fpdf2; charts from reports.render.charts): title, period,
filters, notices, KPI tiles with coloured changes, footnotes, charts, then the
tables, each with its header repeated on every page and its totals row.

A table never leaves a lone row behind: a short one (SHORT_TABLE lines) is never
split, a longer one keeps its first KEEP_TOGETHER rows with its header and its
last KEEP_TOGETHER rows with its totals row. A long list the layout
trims shows its first and last rows, and a table that only repeats its chart is
left to the Excel and CSV files; in both cases a sentence says where every row is."""

from __future__ import annotations

import io
from pathlib import Path

from reports.datasets import Chart, Kpi, ReportDataset, Table
from reports.render.charts import chart_png
from reports.render.formatting import (
    NUMERIC_KINDS,
    change_colour,
    chart_only_sentence,
    filters_text,
    footer_text,
    format_amount,
    format_change,
    format_value,
    heading,
    no_data_sentence,
    no_rows_sentence,
    numbered,
    period_text,
    shorten_middle,
    trimmed_sentence,
)

KEEP_TOGETHER = 3
"""Rows of a table kept together at its start (with the header) and at its end (with the total)."""
SHORT_TABLE = 12
"""Lines of a table short enough to be moved whole to the next page rather than split."""
LINE = 4.6
"""Height of a table line, mm."""
GREY = (87, 96, 106)
MIN_TEXT_COLUMN = 14
"""mm a text column keeps when a table is too wide for the page (a city, a segment)."""


def _font_path(name: str) -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))


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
    pdf.add_font("DejaVu", "", _font_path("DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", _font_path("DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    _pdf_header(pdf, dataset)
    _pdf_kpis(pdf, dataset.kpis, dataset.currency)
    pdf.set_font("DejaVu", size=7.5)
    for line in numbered(dataset.footnotes):
        pdf.multi_cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1 if dataset.footnotes else 0)
    for chart in dataset.charts:
        _pdf_chart(pdf, dataset, chart)
    for table in dataset.tables:
        if table.pdf != "chart":
            _pdf_table(pdf, table, dataset)
    return bytes(pdf.output())


def _pdf_header(pdf, dataset: ReportDataset) -> None:
    pdf.set_font("DejaVu", size=18)
    pdf.cell(0, 10, dataset.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    pdf.cell(0, 6, f"Period: {period_text(dataset)}", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        6,
        f"Compared with: {dataset.previous.label()}   Amounts in {dataset.currency}   Filters: {filters_text(dataset)}",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", size=8.5)
    for line in dataset.scope:
        pdf.multi_cell(0, 4.5, f"Filter: {line}", align="L", new_x="LMARGIN", new_y="NEXT")
    for notice in dataset.notices:
        pdf.set_text_color(170, 30, 30)
        pdf.multi_cell(0, 4.5, f"Notice: {notice}", align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.ln(2)


def _pdf_kpis(pdf, kpis: list[Kpi], currency: str) -> None:
    """KPI tiles, three a row: label (two lines at most, smaller when long),
    value with its unit, the change vs the previous period coloured by whether it
    is good news, and the KPI's note."""
    per_row = 3
    width = (pdf.epw - 4 * (per_row - 1)) / per_row
    for start in range(0, len(kpis), per_row):
        y = pdf.get_y()
        if pdf.will_page_break(30):
            pdf.add_page()
            y = pdf.get_y()
        for i, kpi in enumerate(kpis[start : start + per_row]):
            x = pdf.l_margin + i * (width + 4)
            pdf.set_fill_color(243, 246, 250)
            pdf.rect(x, y, width, 27, style="F")
            pdf.set_font("DejaVu", size=8)
            if pdf.get_string_width(kpi.label) > width - 4 - 2 * pdf.c_margin:
                pdf.set_font("DejaVu", size=6.5)
            for n, line in enumerate(_two_lines(pdf, kpi.label, width - 4)):
                pdf.set_xy(x + 2, y + 1.5 + 3.2 * n)
                pdf.cell(width - 4, 3.2, line)
            pdf.set_xy(x + 2, y + 8.5)
            pdf.set_font("DejaVu", size=14)
            pdf.cell(width - 4, 7, format_amount(kpi.value, kpi.kind, currency))
            pdf.set_xy(x + 2, y + 16.5)
            pdf.set_font("DejaVu", size=6.5)
            pdf.set_text_color(*_rgb(change_colour(kpi)))
            pdf.cell(width - 4, 4, _fit(pdf, format_change(kpi, currency), width - 4))
            pdf.set_text_color(0)
            if kpi.note:
                pdf.set_xy(x + 2, y + 21)
                pdf.set_text_color(170, 30, 30)
                if pdf.get_string_width(kpi.note) > width - 4 - 2 * pdf.c_margin:
                    pdf.set_font("DejaVu", size=5.5)
                pdf.cell(width - 4, 4, _fit(pdf, kpi.note, width - 4))
                pdf.set_text_color(0)
        pdf.set_xy(pdf.l_margin, y + 30)
    pdf.ln(1)


def _two_lines(pdf, label: str, width: float) -> list[str]:
    """A KPI label in two lines at most: a longer one (a long partner name in it) is
    shortened in the middle, so that its start and its end ("…'s customers)") stay."""

    def lines(text: str) -> list[str]:
        return pdf.multi_cell(width, 3.2, text, dry_run=True, output="LINES")

    limit = len(label)
    while len(lines(shorten_middle(label, limit))) > 2 and limit > 10:
        limit -= 1
    return lines(shorten_middle(label, limit))[:2]


def _pdf_chart(pdf, dataset: ReportDataset, chart: Chart) -> None:
    """The chart's image, or the sentence that there is no data to chart; under the
    chart of a table the PDF leaves out, where its rows are."""
    table = dataset.table(chart.table)
    drawn = chart_png(dataset, chart)
    below = chart_only_sentence(table) if table.pdf == "chart" else None
    if drawn is None:
        if pdf.will_page_break(14):
            pdf.add_page()
        pdf.set_font("DejaVu", size=9)
        pdf.set_fill_color(243, 246, 250)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(
            0, 6, no_data_sentence(dataset, chart), fill=True, padding=2, align="L", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_text_color(0)
        pdf.ln(3)
        return
    png, aspect = drawn
    if pdf.will_page_break(pdf.epw * aspect + (6 if below else 0)):
        pdf.add_page()
    pdf.image(io.BytesIO(png), w=pdf.epw)
    if below:
        pdf.set_font("DejaVu", size=7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 4, below, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.ln(2)


def _table_lines(table: Table) -> list[tuple[str, tuple | int]]:
    """What the PDF draws of a table, line by line: ("row", values) for the rows it
    shows, ("gap", how many) for the rows a trimmed list leaves out, ("total", sums)."""
    first, left_out, last = table.pdf_rows()
    lines = [("row", row) for row in first] + ([("gap", left_out)] if left_out else [])
    lines += [("row", row) for row in last]
    total = table.total_row()
    return lines + ([("total", total)] if total is not None else [])


def _pdf_table(pdf, table: Table, dataset: ReportDataset) -> None:
    """A table drawn cell by cell (fpdf2's table() lays out each cell and takes
    seconds for thousands of rows), its header repeated on every page, page breaks
    placed so that neither its first nor its last KEEP_TOGETHER lines are split."""
    lines = _table_lines(table)
    note = trimmed_sentence(table) if lines else no_rows_sentence(dataset)
    headings = [heading(column, dataset.currency) for column in table.columns]
    numeric = [c.kind in NUMERIC_KINDS for c in table.columns]
    pdf.set_font("DejaVu", size=7.5)
    texts = [_line_texts(table, kind, values) for kind, values in lines]
    widths = _column_widths(pdf, headings, texts, numeric)
    first = len(lines) if len(lines) <= SHORT_TABLE else 2 * KEEP_TOGETHER
    if pdf.will_page_break(8 + (4 if note else 0) + (LINE + 0.6) + LINE * first):
        pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.cell(
        0,
        8,
        f"{table.title} ({len(table.rows):,} row{'' if len(table.rows) == 1 else 's'})",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if note:
        pdf.set_font("DejaVu", size=7.5)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 4, note, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    if not lines:
        pdf.ln(3)
        return

    def header() -> None:
        pdf.set_font("DejaVu", "B", size=7.5)
        pdf.set_fill_color(225, 232, 240)
        for label, width, right in zip(headings, widths, numeric):
            pdf.cell(width, LINE + 0.6, _fit(pdf, label, width), border="B", align="R" if right else "L", fill=True)
        pdf.ln(LINE + 0.6)

    header()
    tail = KEEP_TOGETHER + (lines[-1][0] == "total")
    done = 0
    while done < len(lines):
        fit = int((pdf.page_break_trigger - pdf.get_y()) // LINE)
        left = len(lines) - done
        take = left if left <= fit else max(1, min(fit, left - tail))
        for index in range(done, done + take):
            _draw_line(pdf, lines[index][0], texts[index], widths, numeric, index)
        done += take
        if done < len(lines):
            pdf.add_page()
            header()
    pdf.ln(3)


def _line_texts(table: Table, kind: str, values) -> list[str]:
    if kind == "gap":
        return [f"… {values:,} more (Excel and CSV)"] + [""] * (len(table.columns) - 1)
    texts = [
        format_value(v, c.kind) if kind == "row" or c.name in table.total else "" for v, c in zip(values, table.columns)
    ]
    if kind == "total":
        texts[0] = "Total" if not table.pdf_rows()[1] else f"Total, all {len(table.rows):,}"
    return texts


def _draw_line(pdf, kind: str, texts: list[str], widths: list[float], numeric: list[bool], index: int) -> None:
    pdf.set_font("DejaVu", "B" if kind == "total" else "", size=7.5)
    pdf.set_text_color(*(GREY if kind == "gap" else (0, 0, 0)))
    pdf.set_fill_color(247, 249, 251)
    for column, (text, width, right) in enumerate(zip(texts, widths, numeric)):
        align = "R" if right and kind != "gap" else "L"
        shown = _fit(pdf, text, width, middle=not right) if kind != "gap" or column else text
        pdf.cell(
            width, LINE, shown, align=align, fill=kind == "row" and index % 2 == 1, border="T" if kind == "total" else 0
        )
    pdf.set_text_color(0)
    pdf.ln(LINE)


def _column_widths(pdf, headings: list[str], texts: list[list[str]], numeric: list[bool]) -> list[float]:
    """Widths from the widest heading (in bold) or value (in bold too: the totals
    row) of each column (a gap line's text spans the row and does not widen its first
    column). Too wide for the page, the text columns give way first, down to their
    heading's width (their long values are then shortened in the middle), so that no
    heading and no number is ever cut; wider than that, every column is scaled."""
    pdf.set_font("DejaVu", "B", size=7.5)
    widths, least = [], []
    for i, label in enumerate(headings):
        values = [row[i] for row in texts if not row[0].startswith("… ")]
        longest = max([label, *values], key=len)
        least.append(pdf.get_string_width(label) + 2.5)
        widths.append(max(pdf.get_string_width(label), pdf.get_string_width(longest)) + 2.5)
    pdf.set_font("DejaVu", size=7.5)
    excess = sum(widths) - pdf.epw
    if excess > 0:
        room = [
            w - max(low, MIN_TEXT_COLUMN) if not right and w > max(low, MIN_TEXT_COLUMN) else 0
            for w, low, right in zip(widths, least, numeric)
        ]
        if sum(room) > 0:
            give = min(1.0, excess / sum(room))
            widths = [w - r * give for w, r in zip(widths, room)]
    scale = pdf.epw / sum(widths)
    return [w * scale for w in widths] if scale < 1 or len(widths) > 3 else widths


def _fit(pdf, text: str, width: float, *, middle: bool = False) -> str:
    """Text that fits its cell; a longer one is shortened with '…' at its end, or
    with `middle` in its middle, where names of one family differ ("Lavandaria
    Express do…Unidade Norte 27"); the Excel and CSV files carry it in full."""
    if len(text) * 2.7 < width or pdf.get_string_width(text) <= width - 1:  # 2.7 mm: widest glyph at 7.5 pt
        return text
    if middle:
        limit = len(text) - 1
        while limit > 3 and pdf.get_string_width(shorten_middle(text, limit)) > width - 1:
            limit -= 1
        return shorten_middle(text, limit)
    while text and pdf.get_string_width(text + "…") > width - 1:
        text = text[:-1]
    return text + "…"
