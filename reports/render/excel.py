"""A report as an Excel workbook (openpyxl): a summary sheet with the KPIs, one
sheet per table with typed cells, and native charts."""

from __future__ import annotations

import io

from reports.datasets import Chart, ReportDataset, Table
from reports.render.formatting import filters_text, footer_text, format_value, is_formula_like, period_text

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

    wb = Workbook()
    _summary_sheet(wb.active, dataset)
    sheets = {table.name: _table_sheet(wb, table) for table in dataset.tables}
    for chart in dataset.charts:
        _add_chart(sheets[chart.table], dataset.table(chart.table), chart)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _header(cells) -> None:
    from openpyxl.styles import Font, PatternFill

    for cell in cells:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E1E8F0")


def _summary_sheet(summary, dataset: ReportDataset) -> None:
    """Title, period, filters and notices, the KPIs with their previous values,
    changes and notes, the footnotes and the footer."""
    from openpyxl.styles import Font

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
    _header(summary[header_row])
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


def _table_sheet(wb, table: Table):
    """A sheet with the table's typed cells, a frozen header and a filter."""
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet((table.sheet or table.title)[:31].replace("/", "-").replace(":", ""))
    _append(ws, [c.label for c in table.columns])
    _header(ws[1])
    for row in table.rows:
        _append(ws, list(row))  # openpyxl writes Decimal, int, date, str natively
    for index, column in enumerate(table.columns, start=1):
        for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.number_format = NUMBER_FORMATS[column.kind]
        longest = max([len(column.label), *(len(format_value(r[index - 1], column.kind)) for r in table.rows[:500])])
        ws.column_dimensions[get_column_letter(index)].width = min(60, longest + 3)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(1, len(table.rows) + 1)}"
    return ws


def _add_chart(ws, table: Table, chart: Chart) -> None:
    """A native chart of the table's sheet, beside the table."""
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.utils import get_column_letter

    names = [c.name for c in table.columns]
    x_col, y_col = names.index(chart.x) + 1, names.index(chart.y) + 1
    last = 1 + len(chart.points(table)[1])
    native = LineChart() if chart.kind == "line" else BarChart()
    native.title = chart.title
    native.height, native.width = 7.5, 18
    native.add_data(Reference(ws, min_col=y_col, min_row=1, max_row=max(2, last)), titles_from_data=True)
    native.set_categories(Reference(ws, min_col=x_col, min_row=2, max_row=max(2, last)))
    native.legend = None
    ws.add_chart(native, f"{get_column_letter(len(table.columns) + 2)}2")
