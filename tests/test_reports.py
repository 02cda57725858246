"""Scheduled reports end to end against a real SMTP server on loopback (aiosmtpd):
the files' numbers equal the marts (also as received by email), each (schedule,
period, recipient) is sent exactly once through SMTP outages, 4xx replies,
refusals, double sensor ticks and re-runs, a run with a failed recipient fails
(and alerts), and a report waits for the marts it reads. Nothing here depends on
the time of day the suite runs: every "now" is fixed."""

import csv
import datetime as dt
import email
import email.policy
import io
import re
import socket
import subprocess
import sys
import zipfile
from decimal import Decimal

import openpyxl
import psycopg
import pypdf
import pytest
from aiosmtpd.controller import Controller
from dagster import (
    DagsterEventType,
    DagsterInstance,
    ReexecutionOptions,
    build_run_status_sensor_context,
    build_sensor_context,
    execute_job,
    reconstructable,
)

from dagster_project import jobs
from dagster_project.definitions import build_definitions
from dagster_project.resources import WarehouseResource
from dagster_project.sensors import reports as report_sensors
from dagster_project.sensors.alerts import email_data_team_on_run_failure
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate
from reports import marts, runner, schedule_validation, schedules
from reports.datasets import build_dataset
from reports.periods import Period
from reports.render import inert_text, render

WAREHOUSE = {"warehouse": WarehouseResource()}
"""The resources a sensor reads (the Definitions give them to the deployed sensors)."""

UTC = dt.timezone.utc
TICK = dt.datetime(2026, 6, 29, 8, 0, tzinfo=UTC)  # daily 08:00 UTC: reports on Sunday 2026-06-28
DAY = Period(dt.date(2026, 6, 28), dt.date(2026, 6, 28))
MONTH = Period(dt.date(2026, 5, 1), dt.date(2026, 5, 31))
MONTH_TICK = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # monthly on the 1st, 08:00 UTC: reports on May 2026
AFTER_THE_DATA = Period(dt.date(2026, 7, 1), dt.date(2026, 7, 1))  # the demo orders end on 2026-06-30


class Inbox:
    """aiosmtpd handler: keeps every message; refuses the addresses in `refuse`
    (550); answers the next `defer[stage]` RCPT or DATA commands with a transient
    451 (and notes each in `deferred`)."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()
        self.defer = {"RCPT": 0, "DATA": 0}
        self.deferred: list[str] = []

    def start(self) -> None:
        """Start a server on the port (a stopped aiosmtpd controller cannot restart)."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def _deferring(self, stage: str) -> bool:
        if self.defer[stage] > 0:
            self.defer[stage] -= 1
            self.deferred.append(stage)
            return True
        return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self._deferring("RCPT"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self._deferring("DATA"):
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def warehouse_conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=2500, seed=5, end=dt.date(2026, 6, 30), now=dt.datetime(2026, 6, 30, 20, tzinfo=UTC))
        run_dbt(["run", "--vars", "{as_of_date: '2026-06-30'}"], capture=True)
        schedules.ensure_tables(conn)
        yield conn


@pytest.fixture
def conn(warehouse_conn):
    yield warehouse_conn
    warehouse_conn.execute("delete from analytics.report_schedules")


@pytest.fixture
def smtp(monkeypatch, tmp_path):
    inbox = Inbox(free_port())
    inbox.start()
    monkeypatch.setenv("LAUNDRY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LAUNDRY_SMTP_PORT", str(inbox.port))
    monkeypatch.setenv("LAUNDRY_SMTP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("LAUNDRY_OUTBOX", str(tmp_path / "outbox"))
    yield inbox
    if inbox.controller.loop.is_running():
        inbox.controller.stop()


def add_schedule(conn, **overrides) -> dict:
    raw = {
        "name": "Daily revenue",
        "report_type": "revenue",
        "frequency": "daily",
        "time_of_day": "08:00",
        "timezone": "UTC",
        "recipients": "ops@example.com, finance@example.com",
        "format": "excel",
        "created_by": "test",
        **overrides,
    }
    return schedules.add(conn, schedules.validate(raw, conn=conn), now=TICK - dt.timedelta(hours=1))


def attachment(message) -> tuple[str, str, bytes]:
    part = next(message.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_content()


def daily_mart(conn, period: Period) -> tuple:
    return conn.execute(
        "select sum(total_orders), sum(total_revenue), sum(net_revenue) from "
        "analytics.daily_revenue_summaries where date between %s and %s",
        (period.start, period.end),
    ).fetchone()


def revenue_report_totals(fmt: str, content: bytes) -> dict[str, tuple[int, Decimal]]:
    """(orders, total revenue) as a revenue report file shows them: its KPIs, and
    the sums of its daily table, read back the way a recipient's software would."""
    if fmt == "excel":
        book = openpyxl.load_workbook(io.BytesIO(content))
        kpis = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
        daily = list(book["Daily revenue"].iter_rows(min_row=2, values_only=True))
        return {
            "kpis": (kpis["Orders"], Decimal(str(kpis["Total revenue"]))),
            "daily": (sum(r[1] for r in daily), sum(Decimal(str(r[2])) for r in daily)),
        }
    if fmt == "csv":
        archive = zipfile.ZipFile(io.BytesIO(content))
        kpis = {r["kpi"]: r["value"] for r in csv.DictReader(io.StringIO(archive.read("summary.csv").decode()))}
        daily = list(csv.DictReader(io.StringIO(archive.read("daily.csv").decode())))
        return {
            "kpis": (int(kpis["Orders"]), Decimal(kpis["Total revenue"])),
            "daily": (sum(int(r["total_orders"]) for r in daily), sum(Decimal(r["total_revenue"]) for r in daily)),
        }
    # PDF text: each KPI tile is its label's line then its value's line (money after
    # its currency, "EUR 308.50"); each table row is one line ("2026-05-01 12 308.50
    # 0.00 308.50" in the daily table).
    lines = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages).splitlines()

    def number(text: str) -> Decimal:
        return Decimal(text.removeprefix("EUR ").replace(",", ""))

    kpi = {label: number(lines[lines.index(label) + 1]) for label in ("Orders", "Total revenue")}
    rows = [line.split() for line in lines if re.fullmatch(r"\d{4}-\d\d-\d\d( [\d,.]+){4}", line)]
    return {
        "kpis": (int(kpi["Orders"]), kpi["Total revenue"]),
        "daily": (sum(int(number(r[1])) for r in rows), sum(number(r[2]) for r in rows)),
    }


# --- the files -------------------------------------------------------------------


def test_excel_has_the_marts_numbers_native_charts_frozen_headers_and_formats(conn):
    orders, revenue, net = daily_mart(conn, MONTH)
    file = render(build_dataset("revenue", MONTH, conn=conn), "excel", "Monthly revenue")
    assert file.file_name == "monthly-revenue_2026-05.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(file.content))
    kpis = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert kpis["Orders"] == orders and Decimal(str(kpis["Total revenue"])) == revenue
    assert Decimal(str(kpis["Net revenue"])) == net
    daily = book["Daily revenue"]
    assert daily.freeze_panes == "A2" and daily.auto_filter.ref.startswith("A1:")
    assert daily["C2"].number_format == "[$EUR ]#,##0.00" and daily["A2"].number_format == "yyyy-mm-dd"
    assert sum(Decimal(str(r[2])) for r in daily.iter_rows(min_row=2, values_only=True)) == revenue
    assert len(daily._charts) == 1 and len(book["Revenue by payment method"]._charts) == 1


def test_pdf_text_shows_the_period_and_the_marts_numbers_on_numbered_pages(conn):
    orders, revenue, _ = daily_mart(conn, MONTH)
    file = render(build_dataset("revenue", MONTH, conn=conn), "pdf", "Monthly revenue")
    pdf = pypdf.PdfReader(io.BytesIO(file.content))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Revenue report" in text and "2026-05" in text
    assert f"{revenue:,.2f}" in text and f"{orders:,}" in text
    assert f"page 1/{len(pdf.pages)}" in text
    assert sum(len(page.images) for page in pdf.pages) == 2  # the two charts, as images


def test_a_long_pdf_table_paginates_with_repeated_headers(conn):
    dataset = build_dataset("partners", MONTH, conn=conn)
    trend = dataset.table("trend")  # the partner list itself is trimmed in the PDF: the daily trend is not
    trend.rows = trend.rows * (120 // max(1, len(trend.rows)) + 1)  # a long table: more than a page
    file = render(dataset, "pdf")
    pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(file.content)).pages]
    table_pages = [text for text in pages if "Date Orders Revenue (EUR) Partners" in text]
    assert len(table_pages) >= 2  # the header row is repeated on every page of the table


def test_csv_zip_has_one_utf8_table_per_file_equal_to_the_marts(conn):
    orders, revenue, _ = daily_mart(conn, MONTH)
    file = render(build_dataset("revenue", MONTH, conn=conn), "csv")
    archive = zipfile.ZipFile(io.BytesIO(file.content))
    assert set(archive.namelist()) == {
        "summary.csv",
        "daily.csv",
        "payment_methods.csv",
        "categories.csv",
        "top_services.csv",
    }
    daily = list(csv.DictReader(io.StringIO(archive.read("daily.csv").decode("utf-8"))))
    assert list(daily[0]) == ["date", "total_orders", "total_revenue", "refund_amount", "net_revenue"]
    assert sum(Decimal(r["total_revenue"]) for r in daily) == revenue
    assert sum(int(r["total_orders"]) for r in daily) == orders


HOSTILE_NAMES = ['=HYPERLINK("http://x.example","click me")', "+1 Laundry", "@cmd", "-Dash", "\tTab"]


def test_partner_names_a_spreadsheet_would_evaluate_reach_excel_and_csv_as_text(conn):
    """Partners named like formulas (OWASP CSV injection: a leading = + - @ or tab)
    arrive as the text they are; the numbers beside them are still numbers."""
    revenue = dict(
        conn.execute(
            "select partner_id, sum(revenue) from analytics.partner_performance_metrics where date between %s and %s "
            "group by partner_id order by sum(revenue) desc, partner_id limit 5",
            (MONTH.start, MONTH.end),
        ).fetchall()
    )
    renamed = dict(zip(HOSTILE_NAMES, revenue.values()))  # name -> that partner's revenue in May
    with conn.transaction():  # rolled back: the other tests keep the generated names
        for partner_id, name in zip(revenue, HOSTILE_NAMES):
            conn.execute(
                "update analytics.dim_partners set business_name = %s where partner_id = %s", (name, partner_id)
            )
        dataset = build_dataset("partners", MONTH, conn=conn)
        excel, csv_zip = render(dataset, "excel").content, render(dataset, "csv").content
        raise psycopg.Rollback

    book = openpyxl.load_workbook(io.BytesIO(excel))
    assert [c.coordinate for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"] == []
    rows = {row[0].value: row for row in book["Partners"].iter_rows(min_row=2)}
    for name, expected in renamed.items():
        name_cell, revenue_cell = rows[name][0], rows[name][5]
        assert name_cell.data_type == "s" and name_cell.quotePrefix, name  # shown, and kept on edit, as text
        assert revenue_cell.data_type == "n" and Decimal(str(revenue_cell.value)) == expected

    table = {
        r["business_name"]: r
        for r in csv.DictReader(io.StringIO(zipfile.ZipFile(io.BytesIO(csv_zip)).read("partners.csv").decode("utf-8")))
    }
    for name, expected in renamed.items():
        assert Decimal(table["'" + name]["revenue"]) == expected  # the name prefixed with ', the number as is
    assert all(not key.startswith(("=", "+", "-", "@", "\t")) for key in table)


def test_only_text_is_made_inert_never_numbers():
    assert [inert_text(v) for v in ["-5%", "=1+1", "Lisbon", "", Decimal("-5.00"), -3, None]] == [
        "'-5%",
        "'=1+1",
        "Lisbon",
        "",
        Decimal("-5.00"),
        -3,
        None,
    ]
    # Every trigger of the OWASP CSV-injection guidance: = + - @ tab carriage return.
    assert [inert_text(v) for v in ["@SUM(A1)", "+1", "\t=1", "\r=1", "a=1", 1.5]] == [
        "'@SUM(A1)",
        "'+1",
        "'\t=1",
        "'\r=1",
        "a=1",
        1.5,
    ]


def test_customer_pii_is_masked_unless_the_schedule_allows_it(conn):
    raw_emails = {e for (e,) in conn.execute("select email from ops.users where email is not null")}
    masked = build_dataset("customers", MONTH, conn=conn).table("top_customers")
    shown = build_dataset("customers", MONTH, allow_pii=True, conn=conn).table("top_customers")
    assert masked.rows and all(row[1] not in raw_emails and "***@" in row[1] for row in masked.rows if row[1])
    assert [row[2] for row in masked.rows] == [row[2] for row in shown.rows]  # the same customers
    assert all(row[1] in raw_emails for row in shown.rows if row[1])


# --- delivery, exactly once ----------------------------------------------------------


def test_each_recipient_gets_the_period_once_with_subject_body_and_attachment(conn, smtp):
    schedule = add_schedule(conn)
    outcome = runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    assert sorted(outcome.sent) == ["finance@example.com", "ops@example.com"]
    message = smtp.to("ops@example.com")[0]
    assert message["Subject"] == "Daily revenue: Revenue report, 2026-06-28"
    name, mime, content = attachment(message)
    assert name == "daily-revenue_2026-06-28.xlsx"
    assert mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    orders, revenue, _ = daily_mart(conn, DAY)
    html = message.get_body(("html",)).get_content()
    assert f"{revenue:,.2f}" in html and "2026-06-28" in message.get_body(("plain",)).get_content()
    # Running the same tick again (a re-run, a second sensor tick) sends nothing more.
    again = runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    assert again.sent == [] and sorted(again.already_done) == ["finance@example.com", "ops@example.com"]
    assert len(smtp.messages) == 2
    ledger = conn.execute(
        "select recipient, status, attempts, bytes > 0, length(sha256), rows > 0 "
        "from analytics.report_deliveries order by recipient"
    ).fetchall()
    assert ledger == [
        ("finance@example.com", "sent", 1, True, 64, True),
        ("ops@example.com", "sent", 1, True, 64, True),
    ]
    next_run = conn.execute("select next_run_at from analytics.report_schedules").fetchone()[0]
    assert next_run == TICK + dt.timedelta(days=1)


def test_smtp_down_then_up_is_sent_exactly_once_after_a_retry(conn, smtp):
    schedule = add_schedule(conn, recipients="ops@example.com")
    smtp.controller.stop()
    restarted = []

    def sleep_then_restart(seconds):
        if not restarted:
            smtp.start()  # a new server on the same port
            restarted.append(seconds)

    outcome = runner.deliver(conn, str(schedule["schedule_id"]), TICK, sleep=sleep_then_restart)
    assert outcome.sent == ["ops@example.com"] and len(smtp.messages) == 1
    assert conn.execute("select status, attempts from analytics.report_deliveries").fetchone() == ("sent", 2)


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_a_transient_451_reply_is_retried_and_the_message_delivered_once(conn, smtp, monkeypatch, stage):
    monkeypatch.setenv("LAUNDRY_SMTP_BACKOFF_SECONDS", "0.01")  # real sleeps between attempts, but short
    smtp.defer[stage] = 1  # "451 try again later" for the first RCPT (or DATA), then accept
    schedule = add_schedule(conn, recipients="ops@example.com")
    outcome = runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    assert smtp.deferred == [stage]
    assert outcome.sent == ["ops@example.com"] and outcome.failed == {}
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "ops@example.com"
    assert conn.execute("select status, attempts, error from analytics.report_deliveries").fetchone() == (
        "sent",
        2,
        None,
    )


def test_a_refused_recipient_is_recorded_and_the_others_still_get_theirs(conn, smtp):
    smtp.refuse.add("gone@example.com")
    schedule = add_schedule(conn, recipients="gone@example.com, ops@example.com")
    outcome = runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    assert outcome.sent == ["ops@example.com"] and list(outcome.failed) == ["gone@example.com"]
    failed = conn.execute(
        "select status, attempts, error_class, error from analytics.report_deliveries "
        "where recipient = 'gone@example.com'"
    ).fetchone()
    assert failed[:3] == ("failed", 1, "SMTPRecipientsRefused") and "550" in failed[3]
    # A permanent failure is final: a re-run does not retry it.
    runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("fmt", ["pdf", "excel", "csv"])
def test_the_emailed_revenue_attachment_has_the_marts_totals(conn, smtp, fmt):
    schedule = add_schedule(
        conn, name="Monthly revenue", frequency="monthly", day_of_month="1", recipients="cfo@example.com", format=fmt
    )
    runner.deliver(conn, str(schedule["schedule_id"]), MONTH_TICK)
    (received,) = smtp.to("cfo@example.com")
    name, _, content = attachment(received)
    assert (
        name
        == {
            "pdf": "monthly-revenue_2026-05.pdf",
            "excel": "monthly-revenue_2026-05.xlsx",
            "csv": "monthly-revenue_2026-05.zip",
        }[fmt]
    )
    orders, revenue, _ = daily_mart(conn, MONTH)
    assert orders > 0 and revenue > 0
    assert revenue_report_totals(fmt, content) == {"kpis": (orders, revenue), "daily": (orders, revenue)}


def test_the_emailed_partners_attachment_sums_to_partner_performance_metrics(conn, smtp):
    schedule = add_schedule(
        conn,
        name="Monthly partners",
        report_type="partners",
        frequency="monthly",
        day_of_month="1",
        recipients="pm@example.com",
        format="excel",
    )
    runner.deliver(conn, str(schedule["schedule_id"]), MONTH_TICK)
    (received,) = smtp.to("pm@example.com")
    sheet = openpyxl.load_workbook(io.BytesIO(attachment(received)[2]))["Partners"]
    header = [cell.value for cell in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    revenue = sum(Decimal(str(row[header.index("Revenue (EUR)")])) for row in rows)
    received_orders = sum(row[header.index("Received")] for row in rows)
    assert (received_orders, revenue) == conn.execute(
        "select sum(orders_received), sum(revenue) from analytics.partner_performance_metrics "
        "where date between %s and %s",
        (MONTH.start, MONTH.end),
    ).fetchone()
    assert revenue > 0


def test_an_attachment_over_budget_is_zipped_or_kept_in_the_outbox_with_a_notice(conn, smtp, monkeypatch):
    monkeypatch.setenv("LAUNDRY_REPORT_MAX_BYTES", "2000")
    schedule = add_schedule(conn, recipients="ops@example.com", format="pdf")
    runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    message = smtp.messages[0]
    assert list(message.iter_attachments()) == []
    assert "over the 2,000-byte attachment limit" in message.get_body(("plain",)).get_content()
    assert conn.execute("select status from analytics.report_deliveries").fetchone() == ("kept_in_outbox",)
    assert (runner.report_outbox() / "daily-revenue_2026-06-28.pdf").stat().st_size > 2000


def test_without_smtp_the_exact_message_is_written_to_the_outbox(conn, monkeypatch, tmp_path):
    monkeypatch.delenv("LAUNDRY_SMTP_HOST", raising=False)
    monkeypatch.setenv("LAUNDRY_OUTBOX", str(tmp_path))
    schedule = add_schedule(conn, recipients="ops@example.com", format="csv")
    runner.deliver(conn, str(schedule["schedule_id"]), TICK)
    (eml,) = tmp_path.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert attachment(message)[:2] == ("daily-revenue_2026-06-28.zip", "application/zip")


def test_an_empty_period_is_skipped_unless_send_if_empty(conn, smtp):
    quiet = dt.datetime(2020, 1, 2, 8, tzinfo=UTC)  # long before the first order
    schedule = add_schedule(conn, recipients="ops@example.com")
    assert runner.deliver(conn, str(schedule["schedule_id"]), quiet).skipped == ["ops@example.com"]
    eager = add_schedule(conn, name="Eager", recipients="ops@example.com", send_if_empty=True)
    assert runner.deliver(conn, str(eager["schedule_id"]), quiet).sent == ["ops@example.com"]
    assert len(smtp.messages) == 1


# --- the sensor and the Dagster run --------------------------------------------------


def test_the_sensor_twice_on_one_tick_and_a_rerun_send_once(conn, smtp, monkeypatch):
    # The sensor's clock is fixed (not the real one): 5 minutes after the tick, the
    # period (2026-06-28) has its marts, so the sensor fires because the data is
    # ready, whatever the time of day the suite runs.
    monkeypatch.setenv("LAUNDRY_REPORT_DATA_WAIT_MINUTES", "120")
    schedule = add_schedule(conn, recipients="ops@example.com")
    definitions = build_definitions()
    sensor = definitions.get_sensor_def("report_schedules_sensor")
    with DagsterInstance.ephemeral() as instance:
        monkeypatch.setattr(report_sensors, "clock", lambda: TICK - dt.timedelta(minutes=1))
        early = sensor.evaluate_tick(
            build_sensor_context(resources=WAREHOUSE, instance=instance, definitions=definitions)
        )
        assert early.run_requests == [] and early.skip_message == "no report schedule is due"
        monkeypatch.setattr(report_sensors, "clock", lambda: TICK + dt.timedelta(minutes=5))
        first = sensor.evaluate_tick(
            build_sensor_context(resources=WAREHOUSE, instance=instance, definitions=definitions)
        ).run_requests
        second = sensor.evaluate_tick(
            build_sensor_context(resources=WAREHOUSE, instance=instance, definitions=definitions)
        ).run_requests
        assert len(first) == 1 and [r.run_key for r in first] == [r.run_key for r in second]
        assert first[0].run_key == f"report:{schedule['schedule_id']}:2026-06-28"
        assert first[0].run_config["ops"]["send_scheduled_report"]["config"]["data_incomplete"] is False
        job = definitions.resolve_job_def("send_report_job")
        for request in (first[0], second[0]):  # the same run launched twice
            result = job.execute_in_process(run_config=request.run_config, instance=instance)
            assert result.success
    assert len(smtp.messages) == 1
    assert result.output_for_node("send_scheduled_report") == 0  # the second run sent nobody


def test_a_run_with_a_refused_recipient_fails_and_alerts_after_serving_the_others(conn, smtp, monkeypatch, tmp_path):
    monkeypatch.setenv("LAUNDRY_ALERT_RECIPIENTS", "data@example.com")
    smtp.refuse.add("gone@example.com")
    schedule = add_schedule(conn, recipients="gone@example.com, ops@example.com")
    run_config = {
        "ops": {
            "send_scheduled_report": {"config": {"schedule_id": str(schedule["schedule_id"]), "tick": TICK.isoformat()}}
        }
    }
    with DagsterInstance.ephemeral() as instance:
        result = jobs.send_report_job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
        # Every recipient was attempted and recorded before the run failed.
        assert not result.success
        (step_failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
        metadata = step_failure.step_failure_data.user_failure_data.metadata
        assert metadata["failed_recipients"].value == ["gone@example.com"] and metadata["recipients_sent"].value == 1
        assert [m["To"] for m in smtp.messages] == ["ops@example.com"]
        ledger = conn.execute(
            "select recipient, status, error_class from analytics.report_deliveries order by recipient"
        ).fetchall()
        assert ledger == [("gone@example.com", "failed", "SMTPRecipientsRefused"), ("ops@example.com", "sent", None)]
        # The failure is no longer invisible: the data team's alert fires for it.
        run_failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
        email_data_team_on_run_failure(
            build_run_status_sensor_context(
                resources=WAREHOUSE,
                sensor_name="email_data_team_on_run_failure",
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=run_failure,
            ).for_run_failure()
        )
        (alert,) = smtp.to("data@example.com")
        assert alert["Subject"] == "Pipeline run failed: send_report_job"
        assert "gone@example.com" in alert.get_content() and "550" in alert.get_content()
        # Re-executing the failed run from its failure sends nobody anything again, and
        # fails again: the refused recipient is still not delivered (a 5xx is final).
        with execute_job(
            reconstructable(jobs.send_report_job),
            instance,
            run_config={**run_config, "execution": {"config": {"in_process": {}}}},
            reexecution_options=ReexecutionOptions.from_failure(result.run_id, instance),
        ) as again:
            assert again.dagster_run.parent_run_id == result.run_id
            assert not again.success
            (step_failure,) = [e for e in again.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
            metadata = step_failure.step_failure_data.user_failure_data.metadata
            assert (
                metadata["failed_recipients"].value == ["gone@example.com"] and metadata["recipients_sent"].value == 0
            )
    assert [m["To"] for m in smtp.messages] == ["ops@example.com", "data@example.com"]
    assert (
        conn.execute(
            "select recipient, status, error_class from analytics.report_deliveries order by recipient"
        ).fetchall()
        == ledger
    )


@pytest.mark.parametrize("report_type", ["revenue", "orders", "partners", "customers"])
def test_each_report_type_waits_for_the_marts_it_reads(conn, report_type):
    assert report_sensors.report_marts is marts.report_marts  # one definition, the sensor's checks use it too
    assert runner.marts_ready(conn, DAY, report_type)
    dated = [m for m in marts.report_marts(report_type) if m not in marts.UNDATED_MARTS]
    assert marts.unready_marts(conn, AFTER_THE_DATA, report_type) == dated


def test_a_partners_report_waits_while_partner_performance_metrics_lacks_the_periods_last_day(conn, monkeypatch):
    monkeypatch.setenv("LAUNDRY_REPORT_DATA_WAIT_MINUTES", "120")
    now = TICK + dt.timedelta(minutes=30)  # within the wait
    add_schedule(conn, name="Daily partners", report_type="partners", recipients="pm@example.com")
    add_schedule(conn, name="Daily revenue", recipients="ops@example.com")
    last_day = {"day": DAY.end}
    conn.execute(
        "create temporary table held_back as select * from analytics.partner_performance_metrics where date = %(day)s",
        last_day,
    )
    try:
        # Rows of the last day written before that day ended, then no rows at all.
        conn.execute(
            "update analytics.partner_performance_metrics set refreshed_at = %(day)s::timestamp + "
            "interval '12 hours' where date = %(day)s",
            last_day,
        )
        assert marts.unready_marts(conn, DAY, "partners") == ["partner_performance_metrics"]
        conn.execute("delete from analytics.partner_performance_metrics where date = %(day)s", last_day)
        assert marts.unready_marts(conn, DAY, "partners") == ["partner_performance_metrics"]
        assert runner.marts_ready(conn, DAY, "revenue")  # the revenue report's marts are complete
        assert [run.schedule_name for run in runner.due_runs(conn, now)] == ["Daily revenue"]
    finally:
        conn.execute("insert into analytics.partner_performance_metrics select * from held_back")
        conn.execute("drop table held_back")
    due = runner.due_runs(conn, now)
    assert sorted(run.schedule_name for run in due) == ["Daily partners", "Daily revenue"]
    assert not any(run.data_incomplete for run in due)


@pytest.mark.parametrize(("policy", "runs", "skipped"), [("all", 3, 0), ("latest", 1, 2), ("skip", 0, 3)])
def test_downtime_over_three_periods_follows_the_catch_up_policy(conn, policy, runs, skipped):
    now = dt.datetime(2026, 6, 30, 12, tzinfo=UTC)
    add_schedule(conn, recipients="ops@example.com", catch_up=policy)
    conn.execute("update analytics.report_schedules set next_run_at = %s", (now - dt.timedelta(days=2, hours=4),))
    due = runner.due_runs(conn, now, data_ready=lambda period, report_type: True)
    assert len(due) == runs
    assert [d.period.start.isoformat() for d in due] == ["2026-06-27", "2026-06-28", "2026-06-29"][3 - runs :]
    assert conn.execute("select count(*) from analytics.report_deliveries where status = 'skipped'").fetchone() == (
        skipped,
    )
    if policy == "skip":
        assert conn.execute("select next_run_at from analytics.report_schedules").fetchone()[0] > now


def test_a_due_report_waits_for_its_marts_then_sends_with_a_notice(conn, monkeypatch):
    now = dt.datetime(2026, 6, 29, 8, 30, tzinfo=UTC)
    add_schedule(conn, recipients="ops@example.com")
    monkeypatch.setenv("LAUNDRY_REPORT_DATA_WAIT_MINUTES", "60")
    assert runner.due_runs(conn, now, data_ready=lambda period, report_type: False) == []
    late = runner.due_runs(conn, now + dt.timedelta(hours=1), data_ready=lambda period, report_type: False)
    assert len(late) == 1 and late[0].data_incomplete


# --- the CLI -------------------------------------------------------------------------


def cli(*args):
    return subprocess.run([sys.executable, "-m", "laundry_cli", "reports", *args], capture_output=True, text=True)


GOOD = [
    "add",
    "--name",
    "Weekly partners",
    "--type",
    "partners",
    "--frequency",
    "weekly",
    "--day-of-week",
    "0",
    "--time",
    "08:00",
    "--timezone",
    "Europe/Lisbon",
    "--recipients",
    "pm@example.com",
    "--format",
    "pdf",
]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--type": "sales"}, "type: 'sales' is not one of"),
        ({"--frequency": "hourly"}, "frequency: 'hourly' is not one of"),
        ({"--day-of-week": "7"}, "day-of-week: 7 is not between 0 and 6"),
        ({"--time": "8am"}, "time-of-day: '8am' is not a time"),
        ({"--timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA time zone"),
        ({"--recipients": "pm@example.com, nobody"}, "recipients: 'nobody' is not"),
        ({"--recipients": "pm@example.com,pm@example.com"}, "listed twice"),
        ({"--recipients": "pm@example.com\nBcc: all@example.com"}, "is not a plain email address"),
        ({"--format": "docx"}, "format: 'docx' is not one of"),
        ({"--filters": '{"colour": "red"}'}, "unknown key colour"),
        ({"--filters": '{"window_days": 900}'}, "900 is not between 1 and 366"),
        ({"--filters": "{not json"}, "not valid JSON"),
        ({"--catch-up": "sometimes"}, "catch-up: 'sometimes' is not one of"),
        ({"--name": "Weekly\r\nBcc: x@example.com"}, "name: name must be one line"),
        ({"--day-of-week": None}, "day-of-week: a weekly schedule needs --day-of-week 0-6"),
        (
            {"--frequency": "monthly", "--day-of-week": None, "--day-of-month": "32"},
            "day-of-month: 32 is not between 1 and 31",
        ),
        (
            {"--frequency": "monthly", "--day-of-week": None, "--day-of-month": "first"},
            "day-of-month: 'first' is not a day of the month; write 1-31 or 'last'",
        ),
        ({"--filters": '{"partner_id": "not-a-uuid"}'}, "filters: partner_id 'not-a-uuid' is not a UUID"),
        ({"--filters": '{"window_days": 7.5}'}, "filters: window_days must be a whole number"),
        (
            {"--filters": '{"service_category": "Dry cleaning"}'},
            "filters: service_category applies only to revenue and orders reports, not to partners reports",
        ),
        (
            {"--type": "revenue", "--filters": '{"city": "Lisbon"}'},
            "filters: city applies only to partners reports, not to revenue reports",
        ),
    ],
)
def test_cli_refuses_each_invalid_field_and_stores_nothing(conn, change, message):
    args = list(GOOD)
    for flag, value in change.items():  # a value of None drops the flag
        if flag in args:
            at = args.index(flag)
            args[at : at + 2] = [] if value is None else [flag, value]
        elif value is not None:
            args += [flag, value]
    done = cli(*args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert conn.execute("select count(*) from analytics.report_schedules").fetchone() == (0,)


def test_cli_refuses_a_recipient_outside_the_allowed_domains(conn, monkeypatch):
    monkeypatch.setenv("LAUNDRY_RECIPIENT_DOMAINS", "laundryconnect.example")  # the CLI subprocess inherits it
    done = cli(*GOOD)
    assert done.returncode == 2, done.stderr
    assert (
        "recipients: 'pm@example.com': domain example.com is not in LAUNDRY_RECIPIENT_DOMAINS (laundryconnect.example)"
    ) in done.stderr
    assert conn.execute("select count(*) from analytics.report_schedules").fetchone() == (0,)


def test_cli_refuses_a_duplicate_schedule_name_and_keeps_the_first(conn):
    assert cli(*GOOD).returncode == 0
    done = cli(*GOOD)
    assert done.returncode == 2 and "name: a schedule named 'Weekly partners' exists already" in done.stderr
    assert conn.execute("select count(*) from analytics.report_schedules").fetchone() == (1,)


@pytest.mark.parametrize("to", ["not an address", "me@example.com, you@example.com"])
def test_cli_send_now_refuses_an_invalid_to_and_sends_and_records_nothing(conn, smtp, to):
    add_schedule(conn, recipients="ops@example.com")
    done = cli("send-now", "Daily revenue", "--to", to)
    assert done.returncode == 2 and "error: --to: " in done.stderr and repr(to) in done.stderr, done.stderr
    assert smtp.messages == []
    assert conn.execute("select count(*) from analytics.report_schedules").fetchone() == (1,)
    assert conn.execute("select count(*) from analytics.report_deliveries").fetchone() == (0,)


def test_filter_keys_are_accepted_exactly_by_the_report_types_that_apply_them():
    values = {
        "window_days": 7,
        "partner_id": "6f1c1f0e-8f5e-4a39-9d0a-3a3c0c3b7c11",
        "city": "Lisbon",
        "service_category": "Dry cleaning",
    }
    for key, types in schedule_validation.filter_report_types().items():
        for report_type in schedule_validation.report_types():
            raw = {
                "name": "x",
                "report_type": report_type,
                "frequency": "daily",
                "time_of_day": "08:00",
                "timezone": "UTC",
                "recipients": "ops@example.com",
                "format": "csv",
                "filters": {key: values[key]},
            }
            if report_type in types:
                assert schedules.validate(raw).filters == {key: values[key]}
            else:
                with pytest.raises(schedules.ScheduleError, match=f"filters: {key} applies only to"):
                    schedules.validate(raw)


def test_cli_add_list_pause_resume_preview_and_send_now(conn, smtp, tmp_path):
    assert cli(*GOOD).returncode == 0
    assert "Weekly partners" in cli("list").stdout
    assert cli("pause", "Weekly partners").returncode == 0
    assert conn.execute("select is_active from analytics.report_schedules").fetchone() == (False,)
    assert cli("resume", "Weekly partners").returncode == 0
    done = cli("preview", "Weekly partners", "--out", str(tmp_path))
    assert done.returncode == 0 and list(tmp_path.glob("weekly-partners_*.pdf"))
    assert smtp.messages == []
    done = cli("send-now", "Weekly partners", "--to", "me@example.com")
    assert done.returncode == 0, done.stderr
    assert [m["To"] for m in smtp.messages] == ["me@example.com"]
    assert "me@example.com" in cli("deliveries").stdout
    assert cli("delete", "Weekly partners").returncode == 0
    assert cli("show", "Weekly partners").returncode == 2


def test_a_failed_error_check_on_the_reports_marts_holds_it_back(conn):
    from dagster import AssetCheckEvaluation, AssetCheckSeverity, AssetKey

    from dagster_project.sensors.reports import failed_blocking_checks

    definitions = build_definitions()
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(resources=WAREHOUSE, instance=instance, definitions=definitions)
        assert failed_blocking_checks(context, "revenue") == []
        check = next(
            k
            for k in definitions.resolve_asset_graph().asset_check_keys
            if k.asset_key == AssetKey(["analytics", "daily_revenue_summaries"])
        )
        for severity, passed in ((AssetCheckSeverity.WARN, False), (AssetCheckSeverity.ERROR, False)):
            instance.report_runless_asset_event(
                AssetCheckEvaluation(asset_key=check.asset_key, check_name=check.name, passed=passed, severity=severity)
            )
            blocked = failed_blocking_checks(context, "revenue")
            assert blocked == ([check.to_user_string()] if severity == AssetCheckSeverity.ERROR else [])
        assert failed_blocking_checks(context, "customers") == []
