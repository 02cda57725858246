"""A scheduled delivery never strands a recipient, and an outage delays a report
without losing it: every failure ends in a recorded ledger state, a run with any
recipient not delivered fails, and the report sensor relaunches stale claims and
due retries until the deadline; the failure alert is retried too and is visible
without email. Real parts: PostgreSQL, Dagster runs in process, an SMTP server
on loopback (aiosmtpd) that the tests stop and start. Every "now" is a fixed
clock that the tests move, so retries fall due without waiting."""

import datetime as dt
import email
import email.policy
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from dagster import (
    DagsterEventType,
    DagsterInstance,
    ReexecutionOptions,
    build_run_status_sensor_context,
    build_sensor_context,
    execute_job,
    job,
    op,
    reconstructable,
)

from dagster_project import jobs
from dagster_project.definitions import build_definitions
from dagster_project.resources import WarehouseResource
from dagster_project.sensors import alerts as alert_sensors
from dagster_project.sensors import reports as report_sensors
from reports import ledger

from test_reports import TICK, Inbox, add_schedule, conn, free_port, smtp, warehouse_conn  # and its fixtures

WAREHOUSE = {"warehouse": WarehouseResource()}
"""The resources a sensor reads (the Definitions give them to the deployed sensors)."""

MINUTE = dt.timedelta(minutes=1)
START = TICK + 5 * MINUTE  # the sensor's first look at the tick (2026-06-29 08:05 UTC)


class Clock:
    """The sensors' and runs' "now", moved by the test."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def definitions(warehouse_conn):
    return build_definitions()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(START)
    monkeypatch.setattr(report_sensors, "clock", clock)
    monkeypatch.setattr(alert_sensors, "clock", clock)
    return clock


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def sensor_requests(definitions, instance) -> list:
    sensor = definitions.get_sensor_def("report_schedules_sensor")
    return sensor.evaluate_tick(
        build_sensor_context(resources=WAREHOUSE, instance=instance, definitions=definitions)
    ).run_requests


def execute(request, instance):
    return jobs.send_report_job.execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags, raise_on_error=False
    )


def recipient_states(result) -> dict[str, str]:
    """Each recipient's state as the failed run's metadata lists it."""
    (failure,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    return failure.step_failure_data.user_failure_data.metadata["recipients"].value


def ledger_rows(conn) -> dict[str, tuple]:
    """recipient → (status, error_class, attempts, next_attempt_at)."""
    return {
        row[0]: row[1:]
        for row in conn.execute(
            "select recipient, status, error_class, attempts, next_attempt_at from analytics.report_deliveries"
        )
    }


def alert_now(instance, result) -> None:
    """What the run-failure sensor does for this failed run."""
    run_failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
    alert_sensors.email_data_team_on_run_failure(
        build_run_status_sensor_context(
            resources=WAREHOUSE,
            sensor_name="email_data_team_on_run_failure",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=run_failure,
        ).for_run_failure()
    )


def partial_files(tmp_path) -> list[str]:
    return [path.name for path in tmp_path.rglob("*.part")]


# --- outages and retries ---------------------------------------------------------------


def test_an_smtp_outage_longer_than_the_quick_retries_is_retried_by_the_sensor_and_sent_once(
    conn, smtp, clock, definitions, instance, tmp_path
):
    schedule = add_schedule(conn, recipients="ops@example.com")
    smtp.controller.stop()
    (first,) = sensor_requests(definitions, instance)
    assert first.run_key == f"report:{schedule['schedule_id']}:2026-06-28"
    result = execute(first, instance)
    # LAUNDRY_SMTP_ATTEMPTS (4) quick tries, then the recipient waits
    # LAUNDRY_DELIVERY_RETRY_MINUTES (5) and the run fails.
    assert not result.success
    assert ledger_rows(conn) == {"ops@example.com": ("retrying", "ConnectionRefusedError", 4, START + 5 * MINUTE)}
    assert recipient_states(result)["ops@example.com"].startswith(
        "retrying: ConnectionRefusedError: SMTP server unreachable"
    )
    clock.now = START + 4 * MINUTE
    assert sensor_requests(definitions, instance) == []  # not due yet
    smtp.start()  # the server is back
    clock.now = START + 5 * MINUTE
    (retry,) = sensor_requests(definitions, instance)
    assert retry.run_key == f"report:{schedule['schedule_id']}:2026-06-28:relaunch-1"
    assert execute(retry, instance).success
    assert sensor_requests(definitions, instance) == []
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"]
    assert ledger_rows(conn) == {"ops@example.com": ("sent", None, 5, None)}
    assert partial_files(tmp_path) == []


def test_an_outage_past_the_deadline_fails_the_delivery_after_doubling_waits_and_alerts(
    conn, smtp, clock, definitions, instance, monkeypatch, tmp_path
):
    monkeypatch.setenv("LAUNDRY_DELIVERY_DEADLINE_HOURS", "1")
    monkeypatch.setenv("LAUNDRY_ALERT_RECIPIENTS", "data@example.com")
    add_schedule(conn, recipients="ops@example.com")
    smtp.controller.stop()
    # Each wait is as long as the delay so far (at least 5 minutes), the last one cut
    # at the deadline, 60 minutes after the first attempt: tries at +0, +5, +10, +20,
    # +40 and +60 minutes.
    waits = []
    while requests := sensor_requests(definitions, instance):
        (request,) = requests
        result = execute(request, instance)
        assert not result.success
        status, _, _, next_attempt = ledger_rows(conn)["ops@example.com"]
        if status != "retrying":
            break
        waits.append((next_attempt - clock.now) // MINUTE)
        clock.now = next_attempt
    assert waits == [5, 5, 10, 20, 20] and clock.now == START + 60 * MINUTE
    assert ledger_rows(conn)["ops@example.com"][:2] == ("failed", "ConnectionRefusedError")
    assert recipient_states(result)["ops@example.com"].startswith(
        "failed: ConnectionRefusedError: still failing at the 1-hour deadline: SMTP server unreachable"
    )
    clock.now += dt.timedelta(hours=2)
    assert sensor_requests(definitions, instance) == []  # failed is final
    # The alert cannot be emailed either (same server): it waits for its retry, and the
    # data team sees it on the failed run and in the outbox.
    alert_now(instance, result)
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["laundry/alert"].startswith("retrying: ConnectionRefusedError")
    saved = email.message_from_bytes(Path(tags["laundry/alert_file"]).read_bytes(), policy=email.policy.default)
    assert saved["To"] == "data@example.com" and "still failing at the 1-hour deadline" in saved.get_content()
    assert smtp.messages == [] and partial_files(tmp_path) == []


def test_a_5xx_reply_fails_at_once_and_is_never_relaunched(conn, smtp, clock, definitions, instance):
    smtp.refuse.add("gone@example.com")
    add_schedule(conn, recipients="gone@example.com, ops@example.com")
    (request,) = sensor_requests(definitions, instance)
    result = execute(request, instance)
    assert not result.success
    assert ledger_rows(conn) == {
        "gone@example.com": ("failed", "SMTPRecipientsRefused", 1, None),
        "ops@example.com": ("sent", None, 1, None),
    }
    clock.now += dt.timedelta(hours=12)
    assert sensor_requests(definitions, instance) == []
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"]


# --- crashes and stale claims ------------------------------------------------------------


def test_a_crash_between_the_smtp_reply_and_the_ledger_commit_is_resent_once_its_claim_is_stale(
    conn, smtp, clock, definitions, instance, monkeypatch
):
    monkeypatch.setenv("LAUNDRY_DELIVERY_CLAIM_TIMEOUT_MINUTES", "3")
    schedule = add_schedule(conn, recipients="ops@example.com, finance@example.com")
    finish = ledger.PeriodLedger.finish
    crashed = []

    def finish_or_lose_the_database(self, recipient, status, **details):
        if status == "sent" and not crashed:
            crashed.append(recipient)
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return finish(self, recipient, status, **details)

    monkeypatch.setattr(ledger.PeriodLedger, "finish", finish_or_lose_the_database)
    (request,) = sensor_requests(definitions, instance)
    result = execute(request, instance)
    # ops@ was accepted by the server, then the ledger write failed: the run fails and
    # both claims stay with it (finance@ was never tried).
    assert not result.success and crashed == ["ops@example.com"]
    assert {to: row[0] for to, row in ledger_rows(conn).items()} == {
        "ops@example.com": "claimed",
        "finance@example.com": "claimed",
    }
    # Re-executing the run before the claims are stale sends nothing and fails: the
    # claims are another run's.
    with execute_job(
        reconstructable(jobs.send_report_job),
        instance,
        run_config={**request.run_config, "execution": {"config": {"in_process": {}}}},
        reexecution_options=ReexecutionOptions.from_failure(result.run_id, instance),
    ) as again:
        assert not again.success
        assert recipient_states(again)["finance@example.com"].startswith(f"claimed: by run {result.run_id}")
    clock.now = START + 2 * MINUTE
    assert sensor_requests(definitions, instance) == []
    clock.now = START + 3 * MINUTE  # the claim timeout
    (relaunch,) = sensor_requests(definitions, instance)
    assert relaunch.run_key == f"report:{schedule['schedule_id']}:2026-06-28:relaunch-1"
    assert execute(relaunch, instance).success
    assert {to: row[0] for to, row in ledger_rows(conn).items()} == {
        "ops@example.com": "sent",
        "finance@example.com": "sent",
    }
    # finance@ gets one message. ops@ gets its report twice: the server's reply came
    # before the crash, so only the same Message-ID lets a mail system drop the copy.
    assert len(smtp.to("finance@example.com")) == 1
    first, resent = smtp.to("ops@example.com")
    assert first["Message-ID"] == resent["Message-ID"]


def test_a_run_that_never_starts_is_relaunched_from_the_queue(conn, smtp, clock, definitions, instance):
    schedule = add_schedule(conn, recipients="ops@example.com")
    (never_run,) = sensor_requests(definitions, instance)  # queued; its run is lost
    assert ledger_rows(conn)["ops@example.com"][0] == "queued"
    assert sensor_requests(definitions, instance)[0].run_key == never_run.run_key  # repeated, Dagster dedupes it
    clock.now = START + 10 * MINUTE  # LAUNDRY_DELIVERY_CLAIM_TIMEOUT_MINUTES
    (relaunch,) = sensor_requests(definitions, instance)
    assert relaunch.run_key == f"report:{schedule['schedule_id']}:2026-06-28:relaunch-1"
    assert execute(relaunch, instance).success
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"]


def test_a_claim_whose_runs_keep_dying_fails_at_the_deadline(conn, smtp, clock, definitions, instance, monkeypatch):
    monkeypatch.setenv("LAUNDRY_DELIVERY_DEADLINE_HOURS", "1")
    add_schedule(conn, recipients="ops@example.com")
    sensor_requests(definitions, instance)  # queued; no run ever finishes it
    clock.now = START + 70 * MINUTE
    (request,) = sensor_requests(definitions, instance)
    assert ledger_rows(conn)["ops@example.com"][:2] == ("failed", "DeadlineExceeded")
    result = execute(request, instance)  # the run fails, so the data team is alerted
    assert not result.success and smtp.messages == []
    assert recipient_states(result)["ops@example.com"] == (
        "failed: DeadlineExceeded: no run finished it within the 1-hour deadline"
    )


# --- failures of one recipient's delivery ----------------------------------------------


def test_a_report_that_cannot_be_written_to_the_outbox_is_retried_and_sent_once_when_fixed(
    conn, smtp, clock, definitions, instance, tmp_path
):
    add_schedule(conn, recipients="ops@example.com")
    # A folder where the report file goes: the write fails even for root (chmod would not).
    in_the_way = tmp_path / "outbox" / "reports" / "daily-revenue_2026-06-28.xlsx"
    in_the_way.mkdir(parents=True)
    (request,) = sensor_requests(definitions, instance)
    result = execute(request, instance)
    assert not result.success and smtp.messages == []
    assert ledger_rows(conn)["ops@example.com"][:2] == ("retrying", "IsADirectoryError")
    assert partial_files(tmp_path) == []
    in_the_way.rmdir()
    clock.now = START + 5 * MINUTE
    (retry,) = sensor_requests(definitions, instance)
    assert execute(retry, instance).success
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"] and in_the_way.is_file()


def test_a_full_outbox_disk_is_retried_leaves_no_partial_file_and_sends_once_when_space_is_back(
    conn, smtp, clock, definitions, instance, tmp_path
):
    add_schedule(conn, recipients="ops@example.com")
    # The report's partial file is /dev/full: every write to it fails with ENOSPC,
    # as on a full disk (a real one, for root too).
    partial = tmp_path / "outbox" / "reports" / "daily-revenue_2026-06-28.xlsx.part"
    partial.parent.mkdir(parents=True)
    partial.symlink_to("/dev/full")
    (request,) = sensor_requests(definitions, instance)
    result = execute(request, instance)
    assert not result.success and smtp.messages == []
    assert ledger_rows(conn) == {"ops@example.com": ("retrying", "OSError", 1, START + 5 * MINUTE)}
    assert "No space left on device" in recipient_states(result)["ops@example.com"]
    assert partial_files(tmp_path) == [] and not partial.is_symlink()  # the failed write was cleaned up
    clock.now = START + 5 * MINUTE
    (retry,) = sensor_requests(definitions, instance)
    assert execute(retry, instance).success
    assert [m["To"] for m in smtp.messages] == ["ops@example.com"]
    assert (tmp_path / "outbox" / "reports" / "daily-revenue_2026-06-28.xlsx").is_file()


def test_without_smtp_an_outbox_under_a_file_is_retried(conn, clock, definitions, instance, monkeypatch, tmp_path):
    monkeypatch.delenv("LAUNDRY_SMTP_HOST", raising=False)
    (tmp_path / "outbox").write_text("a file, not a folder")
    monkeypatch.setenv("LAUNDRY_OUTBOX", str(tmp_path / "outbox"))
    add_schedule(conn, recipients="ops@example.com")
    (request,) = sensor_requests(definitions, instance)
    assert not execute(request, instance).success
    assert ledger_rows(conn)["ops@example.com"][:2] == ("retrying", "NotADirectoryError")
    (tmp_path / "outbox").unlink()
    clock.now = START + 5 * MINUTE
    assert execute(sensor_requests(definitions, instance)[0], instance).success
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1 and partial_files(tmp_path) == []


class AuthInbox(Inbox):
    """The loopback server, offering AUTH (PLAIN, LOGIN) without TLS."""

    def start(self) -> None:
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            auth_require_tls=False,
            authenticator=lambda *args: AuthResult(success=True),
        )
        self.controller.start()


@pytest.mark.parametrize(
    ("variable", "value", "error_class", "cause"),
    [
        ("LAUNDRY_SMTP_SENDER", "Reports <reports@example.com>\nBcc: everyone@example.com", "ValueError", "linefeed"),
        ("LAUNDRY_SMTP_PASSWORD", "pässwörd", "SMTPAuthenticationError", "non-ASCII"),
    ],
)
def test_a_message_that_can_never_be_sent_fails_with_its_cause_and_no_claim_is_left(
    conn, clock, definitions, instance, monkeypatch, tmp_path, variable, value, error_class, cause
):
    monkeypatch.setenv("LAUNDRY_OUTBOX", str(tmp_path / "outbox"))
    server = AuthInbox(free_port())
    server.start()
    try:
        monkeypatch.setenv("LAUNDRY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LAUNDRY_SMTP_PORT", str(server.port))
        monkeypatch.setenv("LAUNDRY_SMTP_USER", "reports")
        monkeypatch.setenv(variable, value)
        add_schedule(conn, recipients="ops@example.com")
        (request,) = sensor_requests(definitions, instance)
        result = execute(request, instance)
    finally:
        server.controller.stop()
    assert not result.success and server.messages == []
    status, recorded_class, attempts, next_attempt = ledger_rows(conn)["ops@example.com"]
    assert (status, recorded_class, attempts, next_attempt) == ("failed", error_class, 1, None)
    assert cause in recipient_states(result)["ops@example.com"]


# --- the failure alert -------------------------------------------------------------------


@op
def load_partner_feed():
    raise ConnectionError("connection to the partner feed was reset")


@job
def nightly_feed_job():
    load_partner_feed()


def test_a_failure_alert_during_an_smtp_outage_is_on_the_run_and_in_the_outbox_then_emailed_once(
    conn, smtp, clock, instance, monkeypatch, tmp_path
):
    monkeypatch.setenv("LAUNDRY_ALERT_RECIPIENTS", "data@example.com")
    result = nightly_feed_job.execute_in_process(instance=instance, raise_on_error=False)
    smtp.controller.stop()
    alert_now(instance, result)
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["laundry/alert"] == (
        "retrying: ConnectionRefusedError: SMTP server unreachable: [Errno 111] "
        "Connection refused (next attempt 2026-06-29 08:10 UTC)"
    )
    assert tags["laundry/alert_file"] == str(tmp_path / "outbox" / "alerts" / f"alert-{result.run_id}.eml")
    saved = email.message_from_bytes(Path(tags["laundry/alert_file"]).read_bytes(), policy=email.policy.default)
    assert saved["Subject"] == "Pipeline run failed: nightly_feed_job"
    assert "connection to the partner feed was reset" in saved.get_content()
    retry_sensor = alert_sensors.retry_failure_alerts_sensor
    clock.now = START + 4 * MINUTE
    assert (
        retry_sensor(build_sensor_context(resources=WAREHOUSE, instance=instance)).skip_message
        == "no alert retry is due"
    )
    smtp.start()
    clock.now = START + 5 * MINUTE
    retry_sensor(build_sensor_context(resources=WAREHOUSE, instance=instance))
    assert instance.get_run_by_id(result.run_id).tags["laundry/alert"] == "sent: emailed to data@example.com"
    # Neither a later tick nor the failure seen again sends it twice.
    retry_sensor(build_sensor_context(resources=WAREHOUSE, instance=instance))
    alert_now(instance, result)
    assert [m["Subject"] for m in smtp.messages] == ["Pipeline run failed: nightly_feed_job"]
    assert smtp.messages[0]["Message-ID"] == saved["Message-ID"]
    assert conn.execute(
        "select status, attempts, error from analytics.pipeline_alerts where run_id = %s", (result.run_id,)
    ).fetchone() == ("sent", 5, None)
    assert partial_files(tmp_path) == []
