"""A filter printed on a report applies to every figure of it, and a report is
honest about what its figures are: on generated data (and one captured payment
of an unknown method written in the fixture), each filtered report, read back
from its PDF, Excel and CSV file, has KPIs equal to the sums of its own tables
and to SQL over the facts written here, and differs from the unfiltered report.
Unknown filter values are refused at `reports add` and `reports edit`; open
orders, unfinished days, the customers' as-of date and breakdowns that do not
add up are said in every format and in the email."""

import csv
import datetime as dt
import html
import io
import subprocess
import sys
import zipfile
from decimal import Decimal

import openpyxl
import psycopg
import pypdf
import pytest

from laundry_analytics import analytics
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate
from reports import schedules
from reports.datasets import build_dataset
from reports.delivery import report_message
from reports.periods import Period
from reports.render import format_value, render

UTC = dt.timezone.utc
MAY = Period(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
APRIL = Period(dt.date(2026, 4, 1), dt.date(2026, 4, 30))
LAST_WEEK = Period(dt.date(2026, 6, 24), dt.date(2026, 6, 30))
SHOES = "Shoe Care"
VOUCHER = Decimal("12.34")  # one captured payment of a method the marketplace does not know
FORMATS = ["pdf", "excel", "csv"]


@pytest.fixture(scope="module")
def conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        generate(
            connection, orders=2500, seed=5, end=dt.date(2026, 6, 30), now=dt.datetime(2026, 6, 30, 20, tzinfo=UTC)
        )
        connection.execute(
            """
            insert into ops.payments (id, order_id, amount, method, status, created_at, paid_at, updated_at)
            select gen_random_uuid(), o.id, %s, 'voucher', 'completed', o.created_at, o.created_at, o.created_at
            from ops.orders o
            where o.created_at >= '2026-05-10' and o.created_at < '2026-05-20' and exists (
                select 1 from ops.order_items i join ops.services s on s.id = i.service_id
                join ops.service_categories c on c.id = s.category_id where i.order_id = o.id and c.name = %s)
            order by o.created_at limit 1""",
            (VOUCHER, SHOES),
        )
        # Two of the last days' orders still wait for a partner (the partner report's
        # footnote on orders without a partner needs some, whatever the generator draws).
        connection.execute("""
            update ops.orders set partner_id = null, status = 'pending', accepted_at = null, picked_up_at = null,
                                  ready_at = null, delivered_at = null
            where id in (select id from ops.orders where created_at >= '2026-06-28' and status <> 'completed'
                         order by created_at desc limit 2)""")
        run_dbt(["run", "--vars", "{as_of_date: '2026-06-30'}"], capture=True)
        schedules.ensure_tables(connection)
        yield connection
        connection.execute("delete from analytics.report_schedules")


def one(conn, query: str, *params):
    return conn.execute(query, params).fetchone()


def busiest(conn, what: str) -> str:
    """The partner (or partner city) with the most orders in May."""
    column = {"partner": "o.partner_id::text", "city": "p.city"}[what]
    return one(
        conn,
        f"""
        select {column} from analytics.fct_orders o join analytics.dim_partners p using (partner_id)
        where o.order_date between %s and %s and p.city is not null
        group by 1 order by count(*) desc, 1 limit 1""",
        MAY.start,
        MAY.end,
    )[0]


# --- reading a report back the way its recipient's software would ----------------------


def pdf_lines(content: bytes) -> list[str]:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages).splitlines()


def read_back(fmt: str, content: bytes, dataset) -> tuple[dict, dict]:
    """(KPI label -> value, table name -> list of rows as dicts) as the file shows them."""
    columns = {t.name: [c.name for c in t.columns] for t in dataset.tables}
    if fmt == "excel":
        book = openpyxl.load_workbook(io.BytesIO(content))
        summary = list(book["Summary"].iter_rows(values_only=True))
        start = summary.index(("KPI", "Value", "Previous period", "Change", "Note")) + 1
        kpis = {row[0]: row[1] for row in summary[start : start + len(dataset.kpis)]}
        tables = {
            t.name: [dict(zip(columns[t.name], row)) for row in book[t.sheet].iter_rows(min_row=2, values_only=True)]
            for t in dataset.tables
        }
        return kpis, tables
    if fmt == "csv":
        archive = zipfile.ZipFile(io.BytesIO(content))
        summary = list(csv.DictReader(io.StringIO(archive.read("summary.csv").decode())))
        kpis = {row["kpi"]: row["value"] for row in summary if row["value"] != ""}
        tables = {
            t.name: list(csv.DictReader(io.StringIO(archive.read(f"{t.name}.csv").decode()))) for t in dataset.tables
        }
        return kpis, tables
    # PDF: a tile is its label (one or two lines), then its value (money after its
    # currency); a table row is one line. The PDF shows a long list's first and last
    # rows only, and a table that repeats its chart not at all (the Excel and CSV
    # files hold every row).
    lines = pdf_lines(content)
    kpis = {}
    for kpi in dataset.kpis:
        at = next(i for i in range(len(lines)) if kpi.label in (lines[i], f"{lines[i]} {lines[i + 1]}"))
        kpis[kpi.label] = (lines[at + 1] if lines[at] == kpi.label else lines[at + 2]).removeprefix("EUR ")
    for table in dataset.tables:
        first, _, last = table.pdf_rows()
        for row in (first + last) if table.pdf != "chart" else []:
            shown = " ".join(format_value(v, c.kind) for v, c in zip(row, table.columns))
            assert shown in lines, f"{table.title}: {shown!r} is not a line of the PDF"
    return kpis, {t.name: [dict(zip(columns[t.name], row)) for row in t.rows] for t in dataset.tables}


def number(value) -> Decimal:
    return Decimal(str(value).replace(",", ""))


def column_sum(rows: list[dict], name: str) -> Decimal:
    return sum((number(row[name]) for row in rows), Decimal(0))


# --- every figure honours the filter -------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_category_revenue_report_counts_the_orders_with_such_an_item_everywhere(conn, fmt):
    dataset = build_dataset("revenue", MAY, {"service_category": SHOES}, conn=conn)
    kpis, tables = read_back(fmt, render(dataset, fmt).content, dataset)
    scoped = """
        from analytics.fct_orders o
        where o.order_date between %s and %s and exists (select 1 from analytics.fct_order_items i
            where i.order_id = o.order_id and i.service_category_name = %s)"""
    orders, revenue, refunds, paid = one(
        conn,
        "select count(*), sum(captured_amount), sum(refunded_amount), "
        "count(*) filter (where captured_payment_count > 0)" + scoped,
        MAY.start,
        MAY.end,
        SHOES,
    )
    april_revenue = one(conn, "select sum(captured_amount)" + scoped, APRIL.start, APRIL.end, SHOES)[0]
    label = "(orders with a Shoe Care item)"
    assert number(kpis["Orders with a Shoe Care item"]) == orders == column_sum(tables["daily"], "total_orders")
    assert number(kpis[f"Total revenue {label}"]) == revenue == column_sum(tables["daily"], "total_revenue")
    assert number(kpis[f"Refunds {label}"]) == refunds == column_sum(tables["daily"], "refund_amount")
    assert number(kpis["Paid orders with a Shoe Care item"]) == paid
    # The comparison is filtered too: April's Shoe Care orders, not April's marketplace.
    assert dataset.kpis[1].previous == april_revenue
    # The four methods plus the voucher (an unknown method) are the revenue.
    assert column_sum(tables["payment_methods"], "revenue") + VOUCHER == revenue
    # Item tables: the category's lines of the paid scoped orders only.
    item_sales = one(
        conn,
        """select sum(line_total) from analytics.fct_order_items
                              where order_date between %s and %s and service_category_name = %s and is_paid""",
        MAY.start,
        MAY.end,
        SHOES,
    )[0]
    assert [(row["category"], number(row["item_sales"])) for row in tables["categories"]] == [(SHOES, item_sales)]
    assert {row["category"] for row in tables["top_services"]} == {SHOES}
    everyone = build_dataset("revenue", MAY, conn=conn)
    assert (orders, revenue) != (everyone.kpis[0].value, everyone.kpis[1].value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_category_orders_report_honours_it_in_every_figure(conn, fmt):
    dataset = build_dataset("orders", MAY, {"service_category": SHOES}, conn=conn)
    kpis, tables = read_back(fmt, render(dataset, fmt).content, dataset)
    orders, completed, cancelled = one(
        conn,
        """
        select count(*), count(*) filter (where is_completed), count(*) filter (where is_cancelled)
        from analytics.fct_orders o
        where o.order_date between %s and %s and exists (select 1 from analytics.fct_order_items i
            where i.order_id = o.order_id and i.service_category_name = %s)""",
        MAY.start,
        MAY.end,
        SHOES,
    )
    quantity = one(
        conn,
        "select sum(quantity) from analytics.fct_order_items where order_date between %s and %s "
        "and service_category_name = %s",
        MAY.start,
        MAY.end,
        SHOES,
    )[0]
    assert number(kpis["Orders with a Shoe Care item"]) == orders
    assert orders == column_sum(tables["status"], "orders") == column_sum(tables["hours"], "orders")
    assert orders == column_sum(tables["weekdays"], "orders")
    assert number(kpis["Completed with a Shoe Care item"]) == completed
    assert number(kpis["Cancelled with a Shoe Care item"]) == cancelled
    # Every scoped order has a Shoe Care line: the category table's one row counts them all.
    assert [(r["category"], number(r["orders"]), number(r["quantity"])) for r in tables["categories"]] == [
        (SHOES, orders, quantity)
    ]
    assert orders != build_dataset("orders", MAY, conn=conn).kpis[0].value


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_city_partners_report_covers_that_citys_partners_in_every_figure(conn, fmt):
    city = busiest(conn, "city")
    dataset = build_dataset("partners", MAY, {"city": city}, conn=conn)
    kpis, tables = read_back(fmt, render(dataset, fmt).content, dataset)
    received, revenue, partners, mean_acceptance = one(
        conn,
        """
        with per_partner as (
            select m.partner_id, sum(m.orders_received) as received, sum(m.orders_accepted) as accepted,
                   sum(m.revenue) as revenue
            from analytics.partner_performance_metrics m join analytics.dim_partners p using (partner_id)
            where m.date between %s and %s and p.city = %s
            group by m.partner_id
        )
        select sum(received), sum(revenue), count(*), round(avg(round(100.0 * accepted / received, 2)), 2)
        from per_partner""",
        MAY.start,
        MAY.end,
        city,
    )
    label = f"({city} partners)"
    assert number(kpis[f"Orders received {label}"]) == received == column_sum(tables["partners"], "orders_received")
    assert received == column_sum(tables["trend"], "orders_received")
    assert number(kpis[f"Revenue {label}"]) == revenue == column_sum(tables["partners"], "revenue")
    assert number(kpis[f"{city} partners with orders"]) == partners == len(tables["partners"])
    assert number(kpis[f"Avg acceptance rate % {label}"]) == mean_acceptance
    assert {row["city"] for row in tables["partners"]} == {city}
    assert (
        dataset.kpis[0].previous
        == one(
            conn,
            """
        select sum(m.orders_received) from analytics.partner_performance_metrics m
        join analytics.dim_partners p using (partner_id) where m.date between %s and %s and p.city = %s""",
            APRIL.start,
            APRIL.end,
            city,
        )[0]
    )
    assert received != build_dataset("partners", MAY, conn=conn).kpis[0].value


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_partner_customers_report_covers_that_partners_customers(conn, fmt):
    partner = busiest(conn, "partner")
    name = one(conn, "select business_name from analytics.dim_partners where partner_id = %s", partner)[0]
    dataset = build_dataset("customers", MAY, {"partner_id": partner}, conn=conn)
    kpis, tables = read_back(fmt, render(dataset, fmt).content, dataset)
    active = one(
        conn,
        "select count(distinct customer_id) from analytics.fct_orders where partner_id = %s "
        "and order_date between %s and %s",
        partner,
        MAY.start,
        MAY.end,
    )[0]
    customers, new = one(
        conn,
        """
        select count(*), count(*) filter (where c.first_order_date >= %s) from analytics.customer_analytics c
        where c.first_order_date <= %s and exists (select 1 from analytics.fct_orders f
            where f.customer_id = c.user_id and f.partner_id = %s and f.order_date <= %s)""",
        MAY.start,
        MAY.end,
        partner,
        MAY.end,
    )
    assert number(kpis[f"Active customers of {name}"]) == active
    assert number(kpis[f"Customers of {name}"]) == customers == column_sum(tables["segments"], "customers")
    assert number(kpis[f"New customers of {name}"]) == new == column_sum(tables["acquisition"], "new_customers")
    assert (active, customers) != tuple(k.value for k in build_dataset("customers", MAY, conn=conn).kpis[0:3:2])


def test_a_partner_revenue_report_honours_the_partner_everywhere(conn):
    partner = busiest(conn, "partner")
    dataset = build_dataset("revenue", MAY, {"partner_id": partner}, conn=conn)
    orders, revenue = one(
        conn,
        "select count(*), sum(captured_amount) from analytics.fct_orders "
        "where partner_id = %s and order_date between %s and %s",
        partner,
        MAY.start,
        MAY.end,
    )
    daily = dataset.table("daily").rows
    assert (dataset.kpis[0].value, dataset.kpis[1].value) == (orders, revenue)
    assert (sum(r[1] for r in daily), sum(r[2] for r in daily)) == (orders, revenue)
    sales = one(
        conn,
        "select sum(line_total) from analytics.fct_order_items where partner_id = %s "
        "and order_date between %s and %s and is_paid",
        partner,
        MAY.start,
        MAY.end,
    )[0]
    assert sum(r[1] for r in dataset.table("categories").rows) == sales


def test_top_services_under_a_category_are_ranked_among_its_services_only(conn):
    top = build_dataset("revenue", MAY, {"service_category": SHOES}, conn=conn).table("top_services")
    sold = {
        name
        for (name,) in conn.execute(
            """
        select distinct service_name from analytics.fct_order_items
        where order_date between %s and %s and service_category_name = %s and is_paid""",
            (MAY.start, MAY.end, SHOES),
        )
    }
    assert len(sold) == 3  # Sneaker clean, Leather shoe polish, Boot repair
    assert {row[0] for row in top.rows} == sold and {row[1] for row in top.rows} == {SHOES}
    assert len(top.rows) <= analytics.TOP_N


# --- unknown values are refused, at add and at edit ----------------------------------------


def cli(*args):
    return subprocess.run([sys.executable, "-m", "laundry_cli", "reports", *args], capture_output=True, text=True)


ADD = ["add", "--frequency", "daily", "--recipients", "ops@example.com"]


@pytest.mark.parametrize(
    ("report_type", "filters", "message"),
    [
        (
            "partners",
            '{"city": "Lisbonn"}',
            "filters: city 'Lisbonn' matches no partner's city in analytics.dim_partners; nearest: Lisbon",
        ),
        (
            "revenue",
            '{"service_category": "Shoe care"}',
            "filters: service_category 'Shoe care' matches no service category sold in the marts; nearest: Shoe Care",
        ),
        (
            "orders",
            '{"partner_id": "00000000-0000-4000-8000-000000000999"}',
            "filters: no partner with partner_id 00000000-0000-4000-8000-000000000999 in analytics.dim_partners; nearest: ",
        ),
        (
            "customers",
            '{"service_category": "Shoe Care"}',
            "filters: service_category applies only to revenue and "
            "orders reports, not to customers reports: customer figures",
        ),
    ],
)
def test_an_unknown_filter_value_is_refused_at_add_and_at_edit_and_nothing_is_stored(
    conn, report_type, filters, message
):
    done = cli(*ADD, "--name", "Refused", "--type", report_type, "--filters", filters)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert one(conn, "select count(*) from analytics.report_schedules where name = 'Refused'") == (0,)
    assert cli(*ADD, "--name", "Kept", "--type", report_type).returncode == 0
    before = one(conn, "select filters, updated_at, next_run_at from analytics.report_schedules where name = 'Kept'")
    done = cli("edit", "Kept", "--filters", filters, "--time", "06:00")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert (
        one(conn, "select filters, updated_at, next_run_at from analytics.report_schedules where name = 'Kept'")
        == before
    )
    assert cli("delete", "Kept").returncode == 0


def test_a_partner_given_by_part_of_its_name_is_named_first_among_the_nearest(conn):
    partner, name = one(
        conn, "select partner_id::text, business_name from analytics.dim_partners order by business_name desc limit 1"
    )
    part = " ".join(name.split()[1:]).lower()  # "silva laundry 9" for "Pure Silva Laundry 9"
    done = cli(*ADD, "--name", "By name", "--type", "revenue", "--filters", f'{{"partner_id": "{part}"}}')
    assert done.returncode == 2, done.stderr
    assert f"is not a UUID, so it is not a partner id; nearest partners by name: {partner} ({name}, " in done.stderr


def test_a_partner_outside_the_given_city_is_refused(conn):
    partner = busiest(conn, "partner")
    city = one(conn, "select city from analytics.dim_partners where partner_id = %s", partner)[0]
    other = one(conn, "select min(city) from analytics.dim_partners where city <> %s", city)[0]
    done = cli(
        *ADD,
        "--name",
        "Nowhere",
        "--type",
        "partners",
        "--filters",
        f'{{"partner_id": "{partner}", "city": "{other}"}}',
    )
    assert done.returncode == 2 and f"partner_id {partner} is in {city}, not in city '{other}'" in done.stderr


def test_edit_changes_only_the_given_fields_and_keeps_the_pending_period(conn):
    assert cli(*ADD, "--name", "Edited", "--type", "revenue", "--time", "08:00", "--timezone", "UTC").returncode == 0
    before = one(conn, "select recipients, format, next_run_at from analytics.report_schedules where name = 'Edited'")
    done = cli("edit", "Edited", "--filters", f'{{"service_category": "{SHOES}"}}', "--time", "07:15")
    assert done.returncode == 0 and "changed filters, time_of_day of 'Edited'" in done.stdout, done.stderr
    after = one(
        conn,
        "select recipients, format, next_run_at, filters, time_of_day from analytics.report_schedules "
        "where name = 'Edited'",
    )
    assert after[:2] == before[:2]  # untouched
    assert after[2] == before[2] - dt.timedelta(minutes=45)  # the same local date, the new time
    assert after[3:] == ({"service_category": SHOES}, dt.time(7, 15))
    assert cli("edit", "Edited").returncode == 2
    assert cli("delete", "Edited").returncode == 0


# --- honest periods ------------------------------------------------------------------------


def normalised(text: str) -> str:
    return " ".join(text.split())


def everywhere(dataset) -> dict[str, str]:
    """The text of each format's first page (PDF, Excel summary, CSV summary) and of the email body."""
    pdf = pypdf.PdfReader(io.BytesIO(render(dataset, "pdf").content)).pages[0].extract_text()
    book = openpyxl.load_workbook(io.BytesIO(render(dataset, "excel").content))
    excel = "\n".join(
        " ".join(str(v) for v in row if v is not None) for row in book["Summary"].iter_rows(values_only=True)
    )
    summary = zipfile.ZipFile(io.BytesIO(render(dataset, "csv").content)).read("summary.csv").decode()
    message = report_message(dataset, None, schedule_name="Test", recipient="ops@example.com", message_id="<x@y>")
    return {
        "pdf": normalised(pdf),
        "excel": normalised(excel),
        "csv": normalised(summary),
        "email text": normalised(message.get_body(("plain",)).get_content()),
        "email html": normalised(html.unescape(message.get_body(("html",)).get_content())),
    }


def test_open_orders_and_an_unfinished_day_are_said_first_and_mark_every_comparison(conn):
    now = dt.datetime(2026, 6, 30, 18, 0, tzinfo=UTC)  # the period's last day is not over
    dataset = build_dataset("orders", LAST_WEEK, conn=conn, now=now)
    open_days = conn.execute(
        """
        select order_date, count(*), count(*) filter (where is_open) from analytics.fct_orders
        where order_date between %s and %s group by 1 having count(*) filter (where is_open) > 0 order by 1""",
        (LAST_WEEK.start, LAST_WEEK.end),
    ).fetchall()
    assert open_days[-1][0] == LAST_WEEK.end
    expected = ["2026-06-30 is not over yet (data up to 18:00 UTC)."] + [
        f"{still:,} of {orders:,} orders of {day} {'is' if still == 1 else 'are'} still open."
        for day, orders, still in open_days
    ]
    assert dataset.notices[: len(expected)] == expected
    assert all("period incomplete" in kpi.note for kpi in dataset.kpis)
    for where, text in everywhere(dataset).items():
        for notice in expected:
            assert notice in text, f"{where} lacks {notice!r}"
        assert "period incomplete" in text, where


def test_a_closed_period_with_no_open_orders_says_nothing(conn):
    dataset = build_dataset("revenue", Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8)), conn=conn)
    assert one(
        conn,
        "select count(*) from analytics.fct_orders where is_open and order_date between '2026-03-02' and '2026-03-08'",
    ) == (0,)
    assert dataset.notices == [] and all("period incomplete" not in kpi.note for kpi in dataset.kpis)


def test_the_customers_report_states_the_as_of_date_of_its_segments(conn):
    as_of = one(conn, "select last_order_date + days_since_last_order from analytics.customer_analytics limit 1")[0]
    assert as_of == dt.date(2026, 6, 30)
    dataset = build_dataset("customers", MAY, conn=conn)
    notice = (
        "Segments, lifetime value and churn risk as of 2026-06-30 (the latest build), not of the period's "
        "end (2026-05-31)"
    )
    for where, text in everywhere(dataset).items():
        assert notice in text, where
    assert dataset.table("segments").title == "Customer segments as of 2026-06-30"


def test_revenue_carries_a_footnote_with_the_exact_unknown_method_difference(conn):
    gap, total, flagged = one(
        conn,
        """
        select sum(captured_amount - captured_cash_amount - captured_card_amount - captured_wallet_amount
                   - captured_online_amount), sum(captured_amount),
               (select count(*) from analytics.data_quality_issues where rule = 'unknown_method')
        from analytics.fct_orders where order_date between %s and %s""",
        MAY.start,
        MAY.end,
    )
    assert gap == VOUCHER and flagged == 1
    footnote = (
        f"Total revenue {total:,.2f} is 12.34 more than the sum of the payment-method rows "
        f"({total - gap:,.2f}): captured payments of an unknown method (flagged unknown_method in "
        "analytics.data_quality_issues)"
    )
    dataset = build_dataset("revenue", MAY, conn=conn)
    still_open = one(
        conn,
        "select count(*) from analytics.fct_orders where is_open and order_date between %s and %s",
        MAY.start,
        MAY.end,
    )[0]
    # 2: the category table's item sales; an order of May still open marks every KPI too
    assert dataset.kpis[1].note == "see notes 1, 2" + ("; period incomplete" if still_open else "")
    for where, text in everywhere(dataset).items():
        assert footnote in text, f"{where}: {text[:400]}"


def test_cancelled_and_partner_totals_are_footnoted_with_their_differences(conn):
    cancelled, rejected = one(
        conn,
        """
        select count(*) filter (where status = 'cancelled'), count(*) filter (where status = 'rejected')
        from analytics.fct_orders where order_date between %s and %s""",
        MAY.start,
        MAY.end,
    )
    assert rejected > 0
    orders = build_dataset("orders", MAY, conn=conn)
    assert (
        f"Cancelled ({cancelled + rejected:,}) counts cancelled ({cancelled:,}) and rejected ({rejected:,}) orders"
    ) in " ".join(orders.footnotes)
    # Orders waiting for a partner (the last days') are in no partner's figures.
    without, marketplace = one(
        conn,
        "select count(*) filter (where partner_id is null), count(*) "
        "from analytics.fct_orders where order_date between %s and %s",
        LAST_WEEK.start,
        LAST_WEEK.end,
    )
    assert without > 0
    partners = build_dataset("partners", LAST_WEEK, conn=conn)
    assert (
        f"{without:,} orders of the period" in partners.footnotes[0]
        and f"the marketplace had {marketplace:,} orders" in partners.footnotes[0]
    )
    assert partners.kpis[0].note.startswith("see note 1") and partners.kpis[1].note.startswith("see note 1")
