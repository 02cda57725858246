"""A report as an Excel workbook (openpyxl): a summary sheet with the KPIs, one
sheet per table with typed cells (every row, whatever the PDF trims) and native
charts, every sheet set up to print (fit to the page width, header row repeated,
landscape when wide)."""

from __future__ import annotations

import io
import math

from reports.datasets import Chart, Column, ReportDataset, Table
from reports.render.formatting import (
    axis_titles,
    change_colour,
    chart_labels,
    filters_text,
    footer_text,
    format_value,
    heading,
    horizontal_bars,
    is_formula_like,
    label_step,
    no_data_sentence,
    period_text,
    still_changing,
)

NUMBER_FORMATS = {
    "rate": "0.00",
    "minutes": "#,##0.00",
    "number": "0.00",
    "int": "#,##0",
    "date": "yyyy-mm-dd",
    "text": "@",
}
CHANGE_FORMATS = {
    unit: f'"▲ +"#,##0.00"{suffix}";"▼ −"#,##0.00"{suffix}";"= "0.00"{suffix}"'
    for unit, suffix in (("%", "%"), ("pp", " pp"))
}
"""A change vs the previous period: its arrow and unit, percent or percentage points."""
HEADER_FILL = "E1E8F0"
CHANGING_COLOUR = "F08C00"
"""A day whose figures can still change (reports.render.charts.CHANGING_COLOUR)."""
CHANGING_CAPTION = "In orange: days whose figures can still change (see the notices on the Summary sheet)."
SENTENCE_WIDTH = 60
"""Characters of the summary's second column, where filters, notices and notes wrap."""
WIDE = 100
LABEL_WIDTH_MAX = 60
"""Characters of the summary's first column at most; a longer KPI label wraps."""
"""Characters of column width beyond which a sheet prints landscape."""
CHART_WIDTH_CM, CHART_HEIGHT_CM = 18, 7.5
COLUMN_CM, ROW_CM = 1.7, 0.5
"""About the size of a default column and row: how many of them a chart covers."""
AXIS_FORMATS = {"money": "#,##0", "int": "#,##0"}
"""Value-axis labels: whole amounts, the unit being in the axis title ("Revenue (EUR)")."""


def number_format(kind: str, currency: str) -> str:
    """Excel's number format of a kind of value; money shows its currency ("EUR 1,234.50")."""
    return f"[${currency} ]#,##0.00" if kind == "money" else NUMBER_FORMATS[kind]


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

    wb = Workbook()
    _summary_sheet(wb.active, dataset)
    sheets = {table.name: _table_sheet(wb, table, dataset.currency) for table in dataset.tables}
    for chart in dataset.charts:
        _add_chart(sheets[chart.table], dataset, chart)
    charted = {sheets[chart.table].title for chart in dataset.charts}
    for ws in wb.worksheets:
        _print_setup(ws, beside=ws.title in charted)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _header(cells) -> None:
    from openpyxl.styles import Font, PatternFill

    for cell in cells:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)


def _summary_sheet(summary, dataset: ReportDataset) -> None:
    """Title, period, filters, currency and notices, the KPIs with their previous
    values and changes (coloured by whether they are good news) and notes, the
    footnotes and the footer."""
    from openpyxl.styles import Alignment, Font

    summary.title = "Summary"
    _append(summary, [dataset.title])
    summary["A1"].font = Font(size=16, bold=True)
    _append(summary, ["Period", period_text(dataset)])
    _append(summary, ["Compared with", dataset.previous.label()])
    _append(summary, ["Filters", filters_text(dataset)])
    _append(summary, ["Amounts in", dataset.currency])
    for line in dataset.scope:
        _append(summary, ["Filter", line])
        _wrap(summary, summary.max_row)
    for notice in dataset.notices:
        _append(summary, ["Notice", notice])
        summary.cell(summary.max_row, 2).font = Font(color="AA1E1E")
        _wrap(summary, summary.max_row)
    for (cell,) in summary.iter_rows(min_row=2, max_row=summary.max_row, max_col=1):
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top")
    summary.append([])
    _append(summary, ["KPI", "Value", "Previous period", "Change", "Note"])
    header_row = summary.max_row
    _header(summary[header_row])
    label_width = min(LABEL_WIDTH_MAX, max([32, *(len(kpi.label) + 2 for kpi in dataset.kpis)]))
    for kpi in dataset.kpis:
        _append(summary, [kpi.label, kpi.value, kpi.previous, kpi.change, kpi.note or None])
        row = summary.max_row
        # A label longer than its column wraps (the row made that tall), never hidden under the value.
        summary.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
        for column in range(2, 6):
            summary.cell(row, column).alignment = Alignment(vertical="top")
        lines = math.ceil(len(kpi.label) / (label_width * 0.95))
        if lines > 1:
            summary.row_dimensions[row].height = 15 * lines
        summary.cell(row, 2).number_format = number_format(kpi.kind, dataset.currency)
        summary.cell(row, 3).number_format = number_format(kpi.kind, dataset.currency)
        change = summary.cell(row, 4)
        change.number_format = CHANGE_FORMATS[kpi.change_unit]
        change.font = Font(color=change_colour(kpi))
    summary.freeze_panes = summary.cell(header_row + 1, 1)
    summary.append([])
    for n, text in enumerate(dataset.footnotes, start=1):
        _append(summary, [f"Note {n}", text])
        summary.cell(summary.max_row, 1).alignment = Alignment(vertical="top")
        _wrap(summary, summary.max_row)
    _append(summary, [footer_text(dataset)])
    for letter, width in zip("ABCDE", (label_width, SENTENCE_WIDTH, 18, 16, 40)):
        summary.column_dimensions[letter].width = width


def _wrap(ws, row: int) -> None:
    """A long sentence in the second column wrapped over as many lines as it needs;
    the row is made that tall (spreadsheet programs do not all grow it on their own)."""
    from openpyxl.styles import Alignment

    cell = ws.cell(row, 2)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    lines = math.ceil(len(str(cell.value)) / (SENTENCE_WIDTH * 0.95))
    if lines > 1:
        ws.row_dimensions[row].height = 15 * lines


def _table_sheet(wb, table: Table, currency: str):
    """A sheet with the table's typed cells, a bold frozen header and a filter."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(table.sheet)  # a name of 31 characters at most (the layout is checked)
    headings = [heading(column, currency) for column in table.columns]
    _append(ws, headings)
    _header(ws[1])
    for row in table.rows:
        _append(ws, list(row))  # openpyxl writes Decimal, int, date, str natively
    for index, column in enumerate(table.columns, start=1):
        for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = number_format(column.kind, currency)
        longest = max(
            [len(headings[index - 1]) + 2, *(_shown_width(r[index - 1], column, currency) for r in table.rows[:500])]
        )
        ws.column_dimensions[get_column_letter(index)].width = min(60, longest + 3)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(1, len(table.rows) + 1)}"
    return ws


def _shown_width(value, column: Column, currency: str) -> int:
    return len(format_value(value, column.kind)) + (len(currency) + 1 if column.kind == "money" else 0)


def _add_chart(ws, dataset: ReportDataset, chart: Chart) -> None:
    """A native chart beside the table, sized to its data: a bar per row, horizontal
    bars (taller with each bar) for long names, axes shown with titles and units, the
    value axis from zero, straight lines; or, with nothing to draw, the sentence
    saying so in its place."""
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.chart.axis import DateAxis
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    table = dataset.table(chart.table)
    anchor = f"{get_column_letter(len(table.columns) + 2)}2"
    if chart.is_empty(table):
        ws[anchor] = no_data_sentence(dataset, chart)
        ws[anchor].font = Font(italic=True, color="57606A")
        return
    names = [c.name for c in table.columns]
    x_col, y_col = names.index(chart.x) + 1, names.index(chart.y) + 1
    bars = len(chart.points(table)[1])
    kind = chart.drawn_as(table)
    horizontal = kind == "bar" and horizontal_bars(chart_labels(chart, table))
    native = LineChart() if kind == "line" else BarChart()
    native.title = chart.title
    native.add_data(Reference(ws, min_col=y_col, min_row=1, max_row=1 + bars), titles_from_data=True)
    native.set_categories(Reference(ws, min_col=x_col, min_row=2, max_row=1 + bars))
    native.legend = None
    native.x_axis.title, native.y_axis.title = axis_titles(chart, table, dataset.currency)
    # Recent openpyxl writes <c:delete val="1"/> unless told otherwise: Excel then hides both axes.
    native.x_axis.delete = native.y_axis.delete = False
    y_kind = table.columns[y_col - 1].kind
    native.y_axis.number_format = AXIS_FORMATS.get(y_kind, number_format(y_kind, dataset.currency))
    native.y_axis.scaling.min = 0
    native.x_axis.txPr = _unrotated(800)
    native.width, native.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    if kind == "line":
        if table.columns[x_col - 1].kind == "date":  # a date axis labels every n-th day, each one unrotated
            native.x_axis = DateAxis(
                crossAx=100,
                title=native.x_axis.title,
                delete=False,
                txPr=_unrotated(800),
                majorTimeUnit="days",
                majorUnit=label_step(chart_labels(chart, table)),
            )
            native.x_axis.number_format = number_format("date", dataset.currency)
            native.y_axis.crossAx = 500
        for series in native.series:
            series.smooth = False
            series.marker.symbol = "circle"
            series.marker.size = 4
    _mark_changing_days(native, still_changing(dataset, chart), kind)
    if horizontal:
        native.type = "bar"
        native.x_axis.scaling.orientation = "maxMin"  # the first row (the top of a ranking) on top
        native.y_axis.crosses = "max"  # keeps the value axis below the bars once categories are reversed
        native.height = max(CHART_HEIGHT_CM, 0.6 * bars + 3)
    ws.add_chart(native, anchor)
    # Printing covers the cells in use; the chart's cells are empty, so name them.
    last_column = len(table.columns) + 2 + math.ceil(native.width / COLUMN_CM)
    last_row = max(len(table.rows) + 1, 2 + math.ceil(native.height / ROW_CM))
    if any(still_changing(dataset, chart)):  # what orange means, under the chart
        caption = ws.cell(3 + math.ceil(native.height / ROW_CM), len(table.columns) + 2, CHANGING_CAPTION)
        caption.font = Font(italic=True, color=CHANGING_COLOUR)
        last_row = max(last_row, caption.row)
    ws.print_area = f"A1:{get_column_letter(last_column)}{last_row}"


def _mark_changing_days(native, changing: list[bool], kind: str) -> None:
    """The points (line: a hollow marker) or bars of the days whose figures can still
    change in CHANGING_COLOUR, as the PDF draws them."""
    from openpyxl.chart.marker import DataPoint, Marker
    from openpyxl.chart.shapes import GraphicalProperties
    from openpyxl.drawing.line import LineProperties

    if not any(changing):
        return
    (series,) = native.series
    for index, moving in enumerate(changing):
        if not moving:
            continue
        if kind == "line":
            marker = Marker(
                symbol="circle",
                size=6,
                spPr=GraphicalProperties(solidFill="FFFFFF", ln=LineProperties(solidFill=CHANGING_COLOUR)),
            )
            series.dPt.append(
                DataPoint(
                    idx=index,
                    marker=marker,
                    spPr=GraphicalProperties(ln=LineProperties(solidFill=CHANGING_COLOUR, prstDash="dash")),
                )
            )
        else:
            series.dPt.append(
                DataPoint(idx=index, invertIfNegative=False, spPr=GraphicalProperties(solidFill=CHANGING_COLOUR))
            )


def _unrotated(size: int):
    """Axis label text properties: horizontal (Excel would otherwise rotate long
    category labels on its own) at `size` hundredths of a point."""
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RichTextProperties

    return RichText(
        bodyPr=RichTextProperties(rot=0, vert="horz"),
        p=[
            Paragraph(
                pPr=ParagraphProperties(defRPr=CharacterProperties(sz=size)), endParaRPr=CharacterProperties(sz=size)
            )
        ],
    )


def _print_setup(ws, *, beside: bool) -> None:
    """Fit to the page width (as many pages long as needed), header row repeated,
    landscape when the columns, or a chart `beside` them, are wide."""
    from openpyxl.worksheet.properties import PageSetupProperties

    widths = sum(dimension.width or 10 for dimension in ws.column_dimensions.values())
    wide = widths > WIDE or beside
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
