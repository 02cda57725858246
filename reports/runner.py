"""Sending a schedule's report for one tick exactly once per recipient, and
deciding which runs to launch (what the Dagster sensor asks).

Every (schedule, period, recipient) has one row in the delivery ledger
(reports.ledger) and is always in one of its states: queued by the sensor,
claimed by the run serving it, then sent, kept_in_outbox, skipped, retrying
(a transient failure: the sensor relaunches it at next_attempt_at, until the
deadline) or failed. Every exception of a recipient's delivery (rendering, the
outbox, the message, SMTP) is recorded in its row; only a ledger write that
fails (the database gone, the process killed) leaves a claim behind, which the
sensor relaunches once it is stale. The Message-ID is deterministic, so even a
resend after such a crash is recognisable as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import settings as settings_module
from laundry_analytics.analytics_schema import identifier
from reports import ledger, marts, schedules
from reports.datasets import ReportDataset, build_dataset
from reports.delivery import describe, fit_attachment, message_id_for, report_message, send_message, write_atomically
from reports.periods import Period
from reports.render import RenderedFile, render

SKIP_GRACE = dt.timedelta(hours=1)
"""catch_up=skip still sends a tick this recent; older missed ticks are skipped."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RunOutcome:
    schedule: str
    period: Period
    file: RenderedFile | None = None
    sent: list[str] = field(default_factory=list)
    """Sent (or kept in the outbox) by this run."""
    failed: dict[str, str] = field(default_factory=dict)
    """Failed for good in this run: recipient → cause."""
    retrying: dict[str, str] = field(default_factory=dict)
    """Failed transiently in this run, retried later: recipient → cause."""
    skipped: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    """Finished before this run."""
    states: dict[str, ledger.RecipientState] = field(default_factory=dict)
    """Every recipient's ledger state after this run."""

    @property
    def undelivered(self) -> dict[str, str]:
        """The recipients not served (yet): recipient → state and cause."""
        return {to: str(state) for to, state in self.states.items() if state.status not in ledger.DELIVERED}


def report_outbox() -> Path:
    """Where every rendered report file is kept (also the ones too large to email)."""
    return settings_module.load().outbox / "reports"


def render_report(
    spec: schedules.ScheduleSpec, period: Period, *, conn: psycopg.Connection, notices: list[str] = ()
) -> tuple[ReportDataset, RenderedFile]:
    dataset = build_dataset(spec.report_type, period, spec.filters, allow_pii=spec.allow_pii, conn=conn)
    dataset.notices.extend(notices)
    return dataset, render(dataset, spec.format, spec.name)


def deliver(
    conn: psycopg.Connection,
    schedule_key: str,
    tick: dt.datetime,
    *,
    run_id: str | None = None,
    data_incomplete: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Send the report of the period of `tick` to every recipient not yet served,
    leaving each in a recorded state (`RunOutcome.states`)."""
    schedules.ensure_tables(conn)
    row = schedules.find(conn, schedule_key)
    spec = schedules.spec_of(row)
    period = spec.cadence.period_of(tick)
    outcome = RunOutcome(spec.name, period)
    rows = ledger.PeriodLedger(conn, row["schedule_id"], period, run_id, clock)
    with conn.transaction():  # the claims and the schedule's next_run_at move together
        claimed = rows.claim(spec.recipients, tick=tick, data_incomplete=data_incomplete)
        _advance(conn, row["schedule_id"], spec.cadence.next_tick(tick))
    conn.commit()
    if claimed:
        _send_to_claimed(rows, spec, claimed, data_incomplete, outcome, sleep)
    outcome.states = rows.states(spec.recipients)
    outcome.already_done = [
        to for to in spec.recipients if to not in claimed and outcome.states[to].status not in ledger.OPEN
    ]
    return outcome


def _send_to_claimed(
    rows: ledger.PeriodLedger,
    spec: schedules.ScheduleSpec,
    claimed: list[str],
    data_incomplete: bool,
    outcome: RunOutcome,
    sleep: Callable[[float], None],
) -> None:
    notices = (
        ["The marts were not confirmed complete for this period when this report was sent; figures may change."]
        if data_incomplete
        else []
    )
    try:
        dataset, file = render_report(spec, rows.period, conn=rows.conn, notices=notices)
        skip = dataset.is_empty and not spec.send_if_empty
        if not skip:
            write_atomically(report_outbox() / file.file_name, file.content)
            attachment, too_large = fit_attachment(file, settings_module.load().report_max_bytes)
    except Exception as error:  # any failure: recorded for each recipient
        for recipient in claimed:
            _note_failure(outcome, recipient, rows.record_failure(recipient, error))
        return
    if skip:
        for recipient in claimed:
            rows.finish(
                recipient,
                "skipped",
                error_class="EmptyPeriod",
                error="nothing happened in the period and send_if_empty is off",
            )
            outcome.skipped.append(recipient)
        return
    outcome.file = file
    details = {
        "file_name": file.file_name,
        "format": spec.format,
        "bytes": len(file.content),
        "sha256": hashlib.sha256(file.content).hexdigest(),
        "rows": file.rows,
        "data_refreshed_at": dataset.data_refreshed_at,
        "data_incomplete": data_incomplete,
    }
    for recipient in claimed:
        if not rows.hold(recipient):
            continue  # another run took the claim over: it sends and records this one
        try:
            message = report_message(
                dataset,
                attachment,
                schedule_name=spec.name,
                recipient=recipient,
                message_id=message_id_for(str(rows.schedule_id), rows.period.start.isoformat(), recipient),
                too_large_notice=too_large,
            )
            result = send_message(message, sleep=sleep)
        except Exception as error:  # any failure: recorded for each recipient
            _note_failure(outcome, recipient, rows.record_failure(recipient, error, **details))
            continue
        # A crash between the SMTP reply and this commit leaves the claim to go stale:
        # the relaunch resends it, with the same Message-ID.
        rows.finish(
            recipient,
            "kept_in_outbox" if too_large else "sent",
            attempts=result.attempts,
            message_id=result.message_id,
            **details,
        )
        outcome.sent.append(recipient)


def _note_failure(outcome: RunOutcome, recipient: str, state: ledger.RecipientState) -> None:
    (outcome.retrying if state.status == "retrying" else outcome.failed)[recipient] = state.cause


def send_now(
    conn: psycopg.Connection,
    schedule_key: str,
    to: str,
    *,
    now: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Send the latest completed period's report to one address only (recorded as
    a manual delivery; the schedule and its recipients are untouched)."""
    schedules.ensure_tables(conn)
    row = schedules.find(conn, schedule_key)
    spec = schedules.spec_of(row)
    address = schedules.parse_address(to)
    now = now or dt.datetime.now(dt.timezone.utc)
    tick = latest_tick(spec, now)
    period = spec.cadence.period_of(tick)
    dataset, file = render_report(spec, period, conn=conn)
    attachment, too_large = fit_attachment(file, settings_module.load().report_max_bytes)
    message = report_message(
        dataset,
        attachment,
        schedule_name=spec.name,
        recipient=address,
        message_id=message_id_for(
            "manual", str(row["schedule_id"]), period.start.isoformat(), address, now.isoformat()
        ),
        too_large_notice=too_large,
    )
    outcome = RunOutcome(spec.name, period, file)
    try:
        result = send_message(message, sleep=sleep)
        status, error_class, error, message_id, attempts = "sent", None, None, result.message_id, result.attempts
        outcome.sent.append(address)
    except Exception as failure:  # recorded; a manual send is not retried
        (error_class, error), status, message_id = describe(failure), "failed", None
        attempts = getattr(failure, "attempts", 1)
        outcome.failed[address] = error
    conn.execute(
        sql.SQL("""
        insert into {}.report_deliveries (schedule_id, kind, period_start, period_end, recipient, status, attempts,
            error_class, error, message_id, file_name, format, bytes, sha256, rows, data_refreshed_at, finished_at)
        values (%s, 'manual', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
    """).format(identifier()),
        (
            row["schedule_id"],
            period.start,
            period.end,
            address,
            status,
            attempts,
            error_class,
            error,
            message_id,
            file.file_name,
            spec.format,
            len(file.content),
            hashlib.sha256(file.content).hexdigest(),
            file.rows,
            dataset.data_refreshed_at,
        ),
    )
    conn.commit()
    return outcome


def latest_tick(spec: schedules.ScheduleSpec, now: dt.datetime) -> dt.datetime:
    """The most recent tick at or before now."""
    tick = spec.cadence.next_tick(now - dt.timedelta(days=400))
    latest = tick
    while tick <= now:
        latest, tick = tick, spec.cadence.next_tick(tick)
    return latest


# --- what is due --------------------------------------------------------------------


@dataclass(frozen=True)
class DueRun:
    schedule_id: str
    schedule_name: str
    tick: dt.datetime
    period: Period
    data_incomplete: bool
    launch: int = 0
    """0 for the period's first run, then 1, 2, … for each relaunch (stale claims,
    due retries): a new run key each time, so Dagster does not drop it as a repeat."""

    @property
    def run_key(self) -> str:
        key = f"report:{self.schedule_id}:{self.period.start.isoformat()}"
        return f"{key}:relaunch-{self.launch}" if self.launch else key


def due_runs(
    conn: psycopg.Connection, now: dt.datetime, *, data_ready: Callable[[Period, str], bool] | None = None
) -> list[DueRun]:
    """The runs to launch now. First, for each active schedule whose next_run_at
    has passed, the due ticks its catch-up policy keeps (missed ones it drops are
    recorded as skipped) are queued in the ledger and next_run_at moves past them;
    a tick whose marts are not ready waits (with the later ones), up to
    LAUNDRY_REPORT_DATA_WAIT_MINUTES, then is queued with a "data incomplete"
    notice. `data_ready(period, report_type)` decides readiness (default:
    marts_ready, i.e. the marts of that report type; the Dagster sensor also
    requires the marts' blocking checks). Then, from the ledger: a run for every
    period with queued recipients (its run key repeats until the run claims them),
    and a relaunch for every period with a stale claim or a due retry."""
    schedules.ensure_tables(conn)
    data_ready = data_ready or (lambda period, report_type: marts_ready(conn, period, report_type))
    wait = dt.timedelta(minutes=settings_module.load().report_data_wait_minutes)
    with conn.cursor(row_factory=dict_row) as cur:
        due = cur.execute(
            sql.SQL("""
            select * from {}.report_schedules where is_active and next_run_at <= %s order by next_run_at, name
        """).format(identifier()),
            (now,),
        ).fetchall()
    for row in due:
        spec = schedules.spec_of(row)
        ticks = spec.cadence.ticks_between(row["next_run_at"], now)
        if not ticks:
            continue
        if spec.catch_up == "all":
            keep = ticks[-spec.catch_up_cap :]
        elif spec.catch_up == "latest":
            keep = ticks[-1:]
        else:
            keep = [t for t in ticks[-1:] if now - t <= SKIP_GRACE]
        dropped = [t for t in ticks if t not in keep]
        for tick in dropped:
            _record_skipped(conn, row, spec, tick, f"missed while reports were not running (catch_up={spec.catch_up})")
        if not keep:
            _advance(conn, row["schedule_id"], spec.cadence.next_tick(ticks[-1]))
        for tick in keep:
            period = spec.cadence.period_of(tick)
            ready = data_ready(period, spec.report_type)
            if not ready and now - tick < wait:
                break
            ledger.queue(
                conn, row["schedule_id"], period, spec.recipients, tick=tick, data_incomplete=not ready, now=now
            )
            _advance(conn, row["schedule_id"], spec.cadence.next_tick(tick))
        conn.commit()
    return _runs_from_ledger(conn, now)


def _runs_from_ledger(conn: psycopg.Connection, now: dt.datetime) -> list[DueRun]:
    runs = []
    for open_period in ledger.open_periods(conn, now):
        launch = open_period["launches"]
        if open_period["overdue"]:
            launch += 1
            ledger.relaunch(conn, open_period["schedule_id"], open_period["period_start"], launch, now)
        elif not open_period["queued"]:
            continue  # claimed by a live run, or retrying later
        runs.append(
            DueRun(
                str(open_period["schedule_id"]),
                open_period["name"],
                open_period["tick"],
                Period(open_period["period_start"], open_period["period_end"]),
                open_period["data_incomplete"],
                launch,
            )
        )
    conn.commit()
    return runs


def marts_ready(conn: psycopg.Connection, period: Period, report_type: str) -> bool:
    """Every mart `report_type` reads was rebuilt after `period` closed
    (reports.marts: report_marts and the readiness rule of each mart)."""
    return not marts.unready_marts(conn, period, report_type)


# --- the schedule ------------------------------------------------------------------


def _advance(conn, schedule_id, next_run: dt.datetime) -> None:
    conn.execute(
        sql.SQL("""
        update {}.report_schedules
        set last_run_at = now(), next_run_at = greatest(next_run_at, %s), updated_at = now()
        where schedule_id = %s
    """).format(identifier()),
        (next_run, schedule_id),
    )


def _record_skipped(conn, row: dict, spec: schedules.ScheduleSpec, tick: dt.datetime, reason: str) -> None:
    period = spec.cadence.period_of(tick)
    for recipient in spec.recipients:
        conn.execute(
            sql.SQL("""
            insert into {}.report_deliveries (schedule_id, period_start, period_end, recipient, status,
                error_class, error, scheduled_for, finished_at)
            values (%s, %s, %s, %s, 'skipped', 'CatchUpPolicy', %s, %s, now())
            on conflict (schedule_id, period_start, recipient) where kind = 'scheduled' do nothing
        """).format(identifier()),
            (row["schedule_id"], period.start, period.end, recipient, reason, tick),
        )
