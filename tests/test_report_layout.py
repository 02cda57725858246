"""Every report type, rendered in every format, reads at a glance and never
misleads: amounts carry their currency; a change is coloured by whether it is
good news for its KPI and a rate changes in percentage points; a chart draws
something (one day: a bar) or is replaced by a sentence saying there is no data;
no table leaves a row alone on a page and the ones that add up end with a total;
a long partner list is trimmed in the PDF only; Excel sheets keep their full
names, bold headers, print setup and visible chart axes; the email speaks of the
report it carries. Generated data (a module's warehouse, one dbt build), a one-day
period and a partner without orders that day (6,000 orders: 30 partners, more than
the PDF lists)."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import psycopg
import pypdf
import pytest

from laundry_analytics import settings
from laundry_analytics.analytics import registry
from laundry_analytics.analytics.payload_type import KpiSpec, PayloadType, ReportLayout, TableSpec
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate
from reports import schedules
from reports.caveats import incomplete_period_notices
from reports.datasets import Kpi, build_dataset
from reports.delivery import report_message
from reports.periods import Period
from reports.render import format_change, format_value, render
from reports.render.formatting import shorten_middle, still_changing

UTC = dt.timezone.utc
MONTH = Period(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
DAY = Period(dt.date(2026, 5, 14), dt.date(2026, 5, 14))
NOW = dt.datetime(2026, 6, 30, 20, tzinfo=UTC)
REPORT_TYPES = ["revenue", "orders", "partners", "customers"]
KEEP = 3
"""A table's rows kept together on a page at its start and at its end (the issue: "fewer than ~3 rows")."""
SHORT = 12
"""Lines (rows and total) of a table short enough never to be split."""
BAR_COLOUR = (0x1F, 0x6F, 0xEB)
CHANGING_COLOUR = (0xF0, 0x8C, 0x00)
"""The colour of a day whose figures can still change (an unfinished day, orders still open)."""
GREEN, RED, GREY = "1A7F37", "CF222E", "57606A"
GOOD_NEWS = {  # a rise in ... is: (from the issue: refunds, cancellations and durations up are bad)
    "Orders": "up",
    "Total revenue": "up",
    "Net revenue": "up",
    "Paid orders": "up",
    "Average order value": "up",
    "Refunds": "down",
    "Completed": "up",
    "Cancelled": "down",
    "Completion rate %": "up",
    "Cancellation rate %": "down",
    "Avg total minutes": "down",
    "Orders received": "up",
    "Revenue": "up",
    "Partners with orders": "up",
    "Avg acceptance rate %": "up",
    "Avg completion rate %": "up",
    "Active customers": "up",
    "New customers": "up",
    "Customers": "neither",
    "At churn risk": "down",
    "Churn rate %": "down",
    "Avg lifetime value": "up",
}


@pytest.fixture(scope="module")
def conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        generate(connection, orders=6000, seed=11, end=dt.date(2026, 6, 30), now=NOW)
        run_dbt(["run", "--vars", "{as_of_date: '2026-06-30'}"], capture=True)
        schedules.ensure_tables(connection)
        yield connection


@pytest.fixture(scope="module")
def idle_partner(conn) -> str:
    """A partner with no order on DAY (so every chart of its reports for that day may be empty)."""
    return conn.execute(
        """
        select partner_id::text from analytics.dim_partners p where not exists (
            select 1 from analytics.fct_orders o where o.partner_id = p.partner_id and o.order_date = %s)
        order by business_name limit 1""",
        (DAY.start,),
    ).fetchone()[0]


def dataset_of(conn, report_type, period, filters=None, **options):
    return build_dataset(report_type, period, filters, conn=conn, now=NOW, **options)


# --- reading the files back ---------------------------------------------------------------


def pdf_pages(content: bytes) -> list[list[str]]:
    """Each page's text lines, whitespace normalised."""
    return [
        [" ".join(line.split()) for line in page.extract_text().splitlines()]
        for page in pypdf.PdfReader(io.BytesIO(content)).pages
    ]


def chart_images(content: bytes) -> list:
    return [image.image.convert("RGB") for page in pypdf.PdfReader(io.BytesIO(content)).pages for image in page.images]


def drawn(image, colours=(BAR_COLOUR, CHANGING_COLOUR)) -> int:
    """Pixels of the charts' bar and line colours (final days, days that can still
    change): what the chart draws of its data."""
    return sum(
        1
        for pixel in image.get_flattened_data()
        if any(all(abs(a - b) < 30 for a, b in zip(pixel, colour)) for colour in colours)
    )


def shown_rows(table) -> list[str]:
    """The PDF line of each row a table shows, then of its totals row."""
    first, _, last = table.pdf_rows()
    lines = [" ".join(format_value(v, c.kind) for v, c in zip(row, table.columns)) for row in first + last]
    total = table.total_row()
    if total is not None:
        label = f"Total, all {len(table.rows):,}" if len(first + last) < len(table.rows) else "Total"
        lines.append(
            " ".join([label] + [format_value(v, c.kind) for v, c in zip(total, table.columns) if c.name in table.total])
        )
    return lines


def page_of_each(pages: list[list[str]], lines: list[str]) -> list[int]:
    """The page each of `lines` is on, found in order (a table's lines come in order)."""
    found, page, at = [], 0, 0
    for line in lines:
        while line not in pages[page][at:]:
            page, at = page + 1, 0
            assert page < len(pages), f"{line!r} is not in the PDF (in order)"
        at = pages[page].index(line, at) + 1
        found.append(page)
    return found


def assert_no_orphans(pages: list[list[str]], table) -> None:
    lines = shown_rows(table)
    on = page_of_each(pages, lines)
    if len(lines) <= SHORT:
        assert len(set(on)) == 1, f"{table.title}: a table of {len(lines)} lines is split over pages {on}"
        return
    counts = [on.count(page) for page in sorted(set(on))]
    has_total = table.total_row() is not None
    assert counts[0] >= KEEP, f"{table.title}: {counts[0]} rows under its header on page {on[0] + 1}"
    assert counts[-1] >= KEEP + has_total, f"{table.title}: {counts[-1]} lines on its last page ({on[-1] + 1})"


# --- every report type, every format ----------------------------------------------------------


@pytest.mark.parametrize("period", [MONTH, DAY], ids=["month", "one day"])
@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_the_pdf_shows_currency_charts_with_data_and_no_orphan_row(conn, report_type, period):
    dataset = dataset_of(conn, report_type, period)
    content = render(dataset, "pdf").content
    pages = pdf_pages(content)
    text = "\n".join("\n".join(page) for page in pages)
    assert "Amounts in EUR" in text
    for kpi in dataset.kpis:
        if kpi.kind == "money" and kpi.value is not None:
            assert f"EUR {format_value(kpi.value, 'money')}" in text, kpi.label
    for table in dataset.tables:
        for column in table.columns:
            if column.kind == "money" and table.pdf != "chart" and table.rows:
                assert f"{column.label} (EUR)" in text, (table.title, column.label)
    # Every chart with data is an image that draws it (one day: a bar, not an empty line).
    with_data = [chart for chart in dataset.charts if any(y for _, y in chart.points(dataset.table(chart.table))[1])]
    images = chart_images(content)
    assert len(images) == len(with_data) > 0
    assert all(drawn(image) > 200 for image in images)
    for table in dataset.tables:
        if table.pdf != "chart" and table.rows:
            assert_no_orphans(pages, table)


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_excel_sheets_keep_their_names_bold_headers_print_setup_and_visible_chart_axes(conn, report_type):
    dataset = dataset_of(conn, report_type, MONTH)
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    declared = [table.sheet or table.title for table in registry.report_layout(report_type).tables]
    assert book.sheetnames == ["Summary", *declared]  # every name as the layout gives it, never cut
    assert all(len(name) <= 31 and name == name.strip() for name in book.sheetnames)
    for ws in book.worksheets:
        setup = ws.page_setup
        assert (setup.fitToWidth, setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage) == (1, 0, True), (
            ws.title
        )
        assert ws.print_title_rows == "$1:$1", ws.title
        assert setup.orientation in ("landscape", "portrait")
    summary = book["Summary"]
    header = next(row for row in summary.iter_rows() if row[0].value == "KPI")
    assert [c.value for c in header] == ["KPI", "Value", "Previous period", "Change", "Note"]
    assert all(cell.font.b for cell in header)
    for table in dataset.tables:
        ws = book[table.sheet]
        header = ws[1][: len(table.columns)]  # beside it, a chart and its caption
        assert all(cell.font.b for cell in header) and ws.freeze_panes == "A2"
        assert [cell.value for cell in header] == [
            f"{c.label} (EUR)" if c.kind == "money" else c.label for c in table.columns
        ]
        assert ws.max_row == len(table.rows) + 1  # every row, whatever the PDF shows; no totals row among them
        for index, column in enumerate(table.columns, start=1):
            if column.kind == "money" and table.rows:
                assert ws.cell(2, index).number_format == "[$EUR ]#,##0.00"
    for chart in dataset.charts:
        ws = book[dataset.table(chart.table).sheet]
        assert ws.page_setup.orientation == "landscape"  # the chart beside the table
        (native,) = ws._charts
        assert native.x_axis.delete is False and native.y_axis.delete is False
        assert native.x_axis.title is not None and native.y_axis.title is not None
        assert native.y_axis.scaling.min == 0
        assert all(series.smooth is not True for series in native.series)


def test_csv_summary_gives_each_kpi_its_unit_and_a_rate_its_change_in_points(conn):
    dataset = dataset_of(conn, "orders", MONTH)
    archive = zipfile.ZipFile(io.BytesIO(render(dataset, "csv").content))
    rows = {row["kpi"]: row for row in csv.DictReader(io.StringIO(archive.read("summary.csv").decode()))}
    rate = rows["Cancellation rate %"]
    assert (rate["unit"], rate["change_unit"]) == ("%", "pp")
    assert Decimal(rate["change"]) == Decimal(rate["value"]) - Decimal(rate["previous"])
    orders = rows["Orders"]
    assert orders["change_unit"] == "%" and orders["unit"] == ""
    revenue = {
        row["kpi"]: row
        for row in csv.DictReader(
            io.StringIO(
                zipfile.ZipFile(io.BytesIO(render(dataset_of(conn, "revenue", MONTH), "csv").content))
                .read("summary.csv")
                .decode()
            )
        )
    }
    assert revenue["Total revenue"]["unit"] == "EUR"
    assert set(archive.namelist()) == {"summary.csv", *(f"{t.name}.csv" for t in dataset.tables)}
    hours = list(csv.DictReader(io.StringIO(archive.read("hours.csv").decode())))
    assert len(hours) == 24  # the table the PDF leaves to its chart, in full


def test_the_currency_is_the_setting(conn, monkeypatch):
    monkeypatch.setenv("LAUNDRY_CURRENCY", " usd ")
    dataset = dataset_of(conn, "revenue", DAY)
    assert dataset.currency == "USD"
    text = "\n".join("\n".join(page) for page in pdf_pages(render(dataset, "pdf").content))
    assert f"USD {format_value(dataset.kpis[1].value, 'money')}" in text and "EUR" not in text
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    assert book["Daily revenue"]["C2"].number_format == "[$USD ]#,##0.00"
    monkeypatch.setenv("LAUNDRY_CURRENCY", "EURO")
    with pytest.raises(settings.SettingsError, match="LAUNDRY_CURRENCY must be an ISO 4217 currency code"):
        settings.load()


# --- changes: coloured by whether they are good news; rates in percentage points ---------------


def test_a_change_is_coloured_by_whether_it_is_good_news_for_its_kpi():
    refunds_up = Kpi("Refunds", Decimal("120.00"), Decimal("100.00"), "money", better="down")
    revenue_up = Kpi("Total revenue", Decimal("120.00"), Decimal("100.00"), "money")
    minutes_down = Kpi("Avg total minutes", Decimal("90"), Decimal("100"), "minutes", better="down")
    customers_up = Kpi("Customers", 110, 100, "int", better="neither")
    flat = Kpi("Orders", 100, 100, "int")
    assert [k.tone for k in (refunds_up, revenue_up, minutes_down, customers_up, flat)] == [
        "bad",
        "good",
        "good",
        "neutral",
        "neutral",
    ]
    assert format_change(refunds_up, "EUR") == "▲ +20.00% vs previous period (EUR 100.00)"
    assert format_change(minutes_down) == "▼ −10.00% vs previous period (100.00)"


def test_a_rate_changes_in_percentage_points():
    cancellations = Kpi("Cancellation rate %", Decimal("14.74"), Decimal("13.49"), "rate", better="down")
    assert cancellations.change == Decimal("1.25") and cancellations.tone == "bad"
    assert format_change(cancellations) == "▲ +1.25 pp vs previous period (13.49)"
    from_zero = Kpi("Churn rate %", Decimal("2.00"), Decimal("0.00"), "rate", better="down")
    assert format_change(from_zero).startswith("▲ +2.00 pp")  # 0 % before is a comparison, in points


def test_every_kpi_says_which_way_is_good_and_the_email_colours_it_so(conn):
    for report_type in REPORT_TYPES:
        dataset = dataset_of(conn, report_type, MONTH)
        assert {spec.label: spec.better for spec in registry.report_layout(report_type).kpis} == {
            spec.label: GOOD_NEWS[spec.label] for spec in registry.report_layout(report_type).kpis
        }
        html = (
            report_message(dataset, None, schedule_name="Monthly", recipient="cfo@example.com", message_id="<x@y>")
            .get_body(("html",))
            .get_content()
        )
        for kpi, spec in zip(dataset.kpis, registry.report_layout(report_type).kpis):
            change = kpi.value - kpi.previous if kpi.value is not None and kpi.previous is not None else 0
            better = GOOD_NEWS[spec.label]
            colour = GREY if not change or better == "neither" else GREEN if (change > 0) == (better == "up") else RED
            assert f'<span style="color: #{colour};">{format_change(kpi, "EUR")}</span>' in html, kpi.label


# --- charts that never mislead or go blank ------------------------------------------------------


def test_a_one_day_period_draws_its_daily_series_as_a_bar(conn):
    dataset = dataset_of(conn, "revenue", DAY)
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    (daily,) = book["Daily revenue"]._charts
    assert daily.tagname == "barChart"
    (line,) = openpyxl.load_workbook(io.BytesIO(render(dataset_of(conn, "revenue", MONTH), "excel").content))[
        "Daily revenue"
    ]._charts
    assert line.tagname == "lineChart"


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_a_filter_without_orders_replaces_each_empty_chart_with_a_sentence(conn, idle_partner, report_type):
    dataset = dataset_of(conn, report_type, DAY, {"partner_id": idle_partner})
    empty = [chart for chart in dataset.charts if not any(y for _, y in chart.points(dataset.table(chart.table))[1])]
    assert empty  # every report type has a chart of the period's orders
    content = render(dataset, "pdf").content
    text = " ".join(" ".join(page) for page in pdf_pages(content))
    for chart in empty:
        assert (
            f"{chart.title}: no data in the period (2026-05-14) for this report's filter, so there is no chart."
        ) in text
    assert len(chart_images(content)) == len(dataset.charts) - len(empty)
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    for chart in empty:
        ws = book[dataset.table(chart.table).sheet]
        assert ws._charts == []
        assert any(
            isinstance(c.value, str) and "no data in the period" in c.value for row in ws.iter_rows() for c in row
        )


def test_a_day_that_can_still_change_is_drawn_apart_so_it_never_reads_as_a_drop(conn):
    # The period ends on the day of NOW (20:00 UTC): that day is not over.
    dataset = dataset_of(conn, "revenue", Period(dt.date(2026, 6, 24), dt.date(2026, 6, 30)))
    daily = next(chart for chart in dataset.charts if chart.table == "daily")
    changing = still_changing(dataset, daily)
    assert changing[-1] and dt.date(2026, 6, 30) in dataset.changing_days
    assert [day for (day, _), moving in zip(daily.points(dataset.table("daily"))[1], changing) if moving] == sorted(
        dataset.changing_days
    )  # the days the notices name, and no other
    (image, _) = chart_images(render(dataset, "pdf").content)
    assert drawn(image, [CHANGING_COLOUR]) > 50  # the last day in the colour of days that can still change
    text = " ".join(" ".join(page) for page in pdf_pages(render(dataset, "pdf").content))
    assert "2026-06-30 is not over yet" in text
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    ws = book["Daily revenue"]
    ((series,),) = [chart.series for chart in ws._charts]
    assert [point.idx for point in series.dPt] == [i for i, moving in enumerate(changing) if moving]
    assert any(
        cell.value and str(cell.value).startswith("In orange: days whose figures can still change")
        for row in ws.iter_rows()
        for cell in row
    )
    dataset.changing_days = frozenset()  # the same figures, every day final: nothing drawn apart
    (image, _) = chart_images(render(dataset, "pdf").content)
    assert drawn(image, [CHANGING_COLOUR]) == 0 and drawn(image, [BAR_COLOUR]) > 200


def test_a_one_day_period_still_open_draws_its_bar_as_a_day_that_can_change(conn):
    dataset = dataset_of(conn, "revenue", Period(NOW.date(), NOW.date()))
    (daily, _) = chart_images(render(dataset, "pdf").content)
    assert drawn(daily, [CHANGING_COLOUR]) > 200 and drawn(daily, [BAR_COLOUR]) == 0


def test_a_day_with_nothing_yet_says_so_rather_than_no_data(conn):
    day = NOW.date()
    dataset = dataset_of(conn, "revenue", Period(day, day))
    dataset.table("daily").rows = [(day, 1, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))]  # one open order
    text = " ".join(" ".join(page) for page in pdf_pages(render(dataset, "pdf").content))
    assert (
        "Daily revenue: no data yet in the period (2026-06-30), whose figures can still change (see the "
        "notices), so there is no chart."
    ) in text


def test_open_orders_are_counted_in_words_that_agree_with_their_number():
    day = dt.date(2026, 11, 24)
    status = {
        "now": dt.datetime(2026, 11, 30, tzinfo=UTC),
        "data_up_to": None,
        "unfinished_days": [],
        "open_orders_by_day": [
            {"date": day, "orders": 1, "open_orders": 1},
            {"date": day + dt.timedelta(days=1), "orders": 12, "open_orders": 3},
        ],
    }
    notices = incomplete_period_notices(status)
    assert notices[:2] == ["1 of 1 order of 2026-11-24 is still open.", "3 of 12 orders of 2026-11-25 are still open."]


def test_long_names_are_shortened_in_the_middle_where_they_differ():
    assert shorten_middle("Crisp Silva Express Laundry 12", 20) == "Crisp Sil…Laundry 12"
    assert shorten_middle("Crisp Silva Laundry 12", 26) == "Crisp Silva Laundry 12"


# --- layout -------------------------------------------------------------------------------------


def test_no_table_leaves_a_row_alone_on_a_page_whatever_its_length(conn):
    dataset = dataset_of(conn, "revenue", MONTH)
    dataset.charts = []  # only tables: their page breaks are what this test moves around
    daily = dataset.table("daily")
    days = daily.rows
    for length in range(1, 90):
        daily.rows = (days * 3)[:length]
        pages = pdf_pages(render(dataset, "pdf").content)
        for table in dataset.tables:
            assert_no_orphans(pages, table)


def test_tables_that_add_up_end_with_a_total_and_rates_stay_blank(conn):
    dataset = dataset_of(conn, "revenue", MONTH)
    pages = pdf_pages(render(dataset, "pdf").content)
    lines = [line for page in pages for line in page]
    daily = dataset.table("daily").rows
    orders, revenue = sum(r[1] for r in daily), sum(r[2] for r in daily)
    refunds, net = sum(r[3] for r in daily), sum(r[4] for r in daily)
    assert f"Total {orders:,} {revenue:,.2f} {refunds:,.2f} {net:,.2f}" in lines
    methods = sum(row[1] for row in dataset.table("payment_methods").rows)
    assert f"Total {methods:,.2f}" in lines  # the share column (a rate) stays blank
    assert dataset.table("top_services").total_row() is None  # a top-N list adds up to nothing


def test_the_partners_pdf_trims_a_long_list_and_has_a_low_performers_section(conn):
    dataset = dataset_of(conn, "partners", MONTH)
    partners = dataset.table("partners")
    assert len(partners.rows) > 20
    content = render(dataset, "pdf").content
    lines = [line for page in pdf_pages(content) for line in page]
    shown = [" ".join(format_value(v, c.kind) for v, c in zip(row, partners.columns)) for row in partners.rows]
    assert all(line in lines for line in shown[:15] + shown[-5:])
    assert not any(line in lines for line in shown[15:-5])
    left_out = len(partners.rows) - 20
    assert f"… {left_out:,} more (Excel and CSV)" in lines
    assert (
        f"The top 15 and bottom 5 of {len(partners.rows)} partners by revenue; the Excel file (sheet "
        f"“Partners”) and the CSV file (partners.csv) list all {len(partners.rows)}."
    ) in " ".join(lines)
    received, revenue = sum(r[2] for r in partners.rows), sum(r[5] for r in partners.rows)
    assert any(
        line.startswith(f"Total, all {len(partners.rows)} {received:,} ") and f"{revenue:,.2f}" in line
        for line in lines
    )  # over every partner, not only the 20 shown
    assert any(line.startswith("Low performers: lowest completion rate (at least 5 orders)") for line in lines)
    low = dataset.table("low_performers").rows
    assert low and [r[5] for r in low] == sorted(r[5] for r in low)  # completion %, lowest first
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    assert book["Partners"].max_row == len(partners.rows) + 1
    (bars,) = book["Partners"]._charts
    cm = 360_000  # EMU
    assert bars.type == "bar" and bars.anchor.ext.cy > 7.5 * cm  # horizontal bars for names, taller for ten


LONG_NAMES = (
    "Lavandaria Express do Centro Histórico — Unidade Norte 27",
    "Lavandaria Express do Centro Histórico — Unidade Sul 18",
)


def test_a_pdf_table_never_cuts_a_heading_or_a_number_and_shortens_long_names_in_the_middle(conn):
    dataset = dataset_of(conn, "partners", MONTH)
    partners = dataset.table("partners")
    partners.rows = [(name, *row[1:]) for name, row in zip(LONG_NAMES, partners.rows[:2])] + partners.rows[2:]
    lines = [line for page in pdf_pages(render(dataset, "pdf").content) for line in page]
    headings = " ".join(f"{c.label} (EUR)" if c.kind == "money" else c.label for c in partners.columns)
    assert headings in lines  # every heading whole, the currency of Revenue too
    for name, row in zip(LONG_NAMES, partners.rows):
        numbers = " ".join(format_value(v, c.kind) for v, c in zip(row[2:], partners.columns[2:]))
        (line,) = [line for line in lines if line.endswith(f"{row[1]} {numbers}")]  # every number whole
        end = " ".join(name.split()[-2:])  # "Norte 27": what tells the two apart
        assert line.startswith("Lavandaria") and "…" in line and f"{end} {row[1]}" in line, line


def test_a_kpi_label_too_long_for_its_tile_keeps_its_start_and_end(conn):
    dataset = dataset_of(conn, "customers", MONTH)
    label = f"Avg lifetime value ({LONG_NAMES[0]}'s customers)"
    dataset.kpis[-1] = Kpi(label, *(dataset.kpis[-1].value, dataset.kpis[-1].previous, "money"))
    text = " ".join(" ".join(page) for page in pdf_pages(render(dataset, "pdf").content))
    assert "Avg lifetime value (Lavandaria" in text and "Norte 27's customers)" in text and "…" in text


def test_the_excel_summary_shows_a_long_kpi_label_whole(conn):
    dataset = dataset_of(conn, "customers", MONTH)
    label = f"Avg lifetime value ({LONG_NAMES[0]}'s customers)"
    dataset.kpis[-1] = Kpi(label, *(dataset.kpis[-1].value, dataset.kpis[-1].previous, "money"))
    summary = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))["Summary"]
    (cell,) = [row[0] for row in summary.iter_rows() if row[0].value == label]
    width = summary.column_dimensions["A"].width
    assert width >= len(label) + 2 or (
        cell.alignment.wrap_text and summary.row_dimensions[cell.row].height >= 15 * -(-len(label) // int(width))
    )


def test_a_one_row_chart_table_is_named_in_the_singular(conn):
    dataset = dataset_of(conn, "customers", DAY)
    text = " ".join(" ".join(page) for page in pdf_pages(render(dataset, "pdf").content))
    assert (
        "The row of this chart is in the Excel file (sheet “New customers per day”) and the CSV file (acquisition.csv)."
    ) in text


def test_a_table_that_repeats_its_chart_is_left_to_excel_and_csv(conn):
    dataset = dataset_of(conn, "orders", MONTH)
    text = " ".join(" ".join(page) for page in pdf_pages(render(dataset, "pdf").content))
    assert "Orders by local hour (24 rows)" not in text
    assert (
        "The 24 rows of this chart are in the Excel file (sheet “Orders by local hour”) and the CSV file (hours.csv)."
    ) in text
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    assert book["Orders by local hour"].max_row == 25


def test_a_layout_with_a_sheet_name_excel_would_cut_or_a_total_of_rates_is_refused():
    def layout(table: TableSpec) -> PayloadType:
        return PayloadType(
            name="cut",
            title="Cut",
            compute=lambda *a, **k: {},
            marts=(),
            cache_ttl=dt.timedelta(1),
            schema=registry.get("revenue").schema,
            report=ReportLayout(kpis=(KpiSpec("Orders", "orders", "int"),), tables=(table,)),
        )

    long_title = TableSpec(
        "items", "Item sales by service category (paid orders)", (("category", "Category", "text"),), rows="items"
    )
    with pytest.raises(
        ValueError, match="sheet name 'Item sales by service category \\(paid orders\\)' must be 1-31 characters"
    ):
        registry.register(layout(long_title))
    summed_rate = TableSpec(
        "methods",
        "By method",
        (("method", "Method", "text"), ("share", "Share %", "rate")),
        rows="methods",
        total=("share",),
    )
    with pytest.raises(ValueError, match="a totals row cannot add up column 'share' \\(of kind rate"):
        registry.register(layout(summed_rate))
    assert "cut" not in registry.payload_types()


# --- the email ------------------------------------------------------------------------------------


def body(dataset, fmt: str = "pdf") -> str:
    file = render(dataset, fmt)
    message = report_message(dataset, file, schedule_name="Monthly", recipient="cfo@example.com", message_id="<x@y>")
    return " ".join(message.get_body(("plain",)).get_content().split())


def test_the_email_speaks_of_the_report_it_carries(conn):
    revenue = body(dataset_of(conn, "revenue", MONTH))
    assert "masked" not in revenue and "personal data" not in revenue  # no customer data in a revenue report
    assert (
        "It holds the KPIs above, 2 charts and the tables Daily revenue, Revenue by payment method, Item sales "
        "by service category (paid orders), Top services."
    ) in revenue
    assert "Total revenue: EUR " in revenue
    masked = body(dataset_of(conn, "customers", MONTH), "excel")
    assert "Customer names and emails in this report are masked: this schedule is not allowed to show them." in masked
    assert (
        "one sheet per table: Customer segments, Top customers, New customers per day; the charts are on "
        "Customer segments and New customers per day."
    ) in masked
    shown = body(dataset_of(conn, "customers", MONTH, allow_pii=True), "csv")
    assert (
        "This report shows customers' names and emails (this schedule is allowed to): handle it as personal data."
        in shown
        and "masked" not in shown
    )
    partners = body(dataset_of(conn, "partners", MONTH))
    assert "Partners: top and bottom rows only; the Excel and CSV versions list every row." in partners


# --- schedules: the day of week as the help text promises --------------------------------------------


@pytest.mark.parametrize(
    ("given", "day"), [("mon", 0), ("MON", 0), ("Monday", 0), ("tuesday", 1), ("Sun", 6), ("SUNDAY", 6), ("4", 4)]
)
def test_a_weekly_schedule_takes_a_day_by_number_name_or_three_letters_in_any_case(given, day):
    raw = {
        "name": "Weekly",
        "report_type": "revenue",
        "frequency": "weekly",
        "day_of_week": given,
        "time_of_day": "08:00",
        "timezone": "UTC",
        "recipients": "ops@example.com",
        "format": "pdf",
    }
    assert schedules.validate(raw).day_of_week == day


def test_a_day_of_week_that_is_no_day_is_refused_saying_what_to_write():
    raw = {
        "name": "Weekly",
        "report_type": "revenue",
        "frequency": "weekly",
        "day_of_week": "tues",
        "time_of_day": "08:00",
        "timezone": "UTC",
        "recipients": "ops@example.com",
        "format": "pdf",
    }
    with pytest.raises(
        schedules.ScheduleError,
        match="day-of-week: 'tues' is not a day of the week; write 0-6 "
        "\\(0 = Monday\\), a day's name \\(monday\\) or its first "
        "three letters \\(mon\\)",
    ):
        schedules.validate(raw)
