"""Sending a schedule's report for one tick exactly once per recipient, and
deciding which ticks are due (what the Dagster sensor asks).

The ledger (`report_deliveries`) has a unique key (schedule, period start,
recipient) for scheduled sends. A recipient is claimed before the message is
sent; a claimed row is finished (sent, failed, skipped, kept_in_outbox) in the
same transaction that advances the schedule's `last_run_at` / `next_run_at`. A
retried or relaunched run skips finished recipients, so nobody gets a period
twice. A claim left by a run that died is taken over after CLAIM_TIMEOUT (or at
once by a retry of the same Dagster run); the message keeps a deterministic
Message-ID, so even that rare resend is recognisable as a duplicate.
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
from reports import marts, schedules
from reports.datasets import ReportDataset, build_dataset
from reports.delivery import DeliveryError, fit_attachment, message_id_for, report_message, send_message
from reports.periods import Period
from reports.render import RenderedFile, render

CLAIM_TIMEOUT = dt.timedelta(minutes=10)
SKIP_GRACE = dt.timedelta(hours=1)
"""catch_up=skip still sends a tick this recent; older missed ticks are skipped."""
FINISHED = ("sent", "failed", "skipped", "kept_in_outbox")


@dataclass
class RunOutcome:
    schedule: str
    period: Period
    file: RenderedFile | None = None
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)


def _schema() -> sql.Identifier:
    return sql.Identifier(settings_module.load().analytics_schema)


def report_outbox() -> Path:
    """Where every rendered report file is kept (also the ones too large to email)."""
    return settings_module.load().outbox / "reports"


def render_report(spec: schedules.ScheduleSpec, period: Period, *, conn: psycopg.Connection,
                  notices: list[str] = ()) -> tuple[ReportDataset, RenderedFile]:
    dataset = build_dataset(spec.report_type, period, spec.filters, allow_pii=spec.allow_pii, conn=conn)
    dataset.notices.extend(notices)
    return dataset, render(dataset, spec.format, spec.name)


def deliver(conn: psycopg.Connection, schedule_key: str, tick: dt.datetime, *, run_id: str | None = None,
            data_incomplete: bool = False, sleep: Callable[[float], None] = time.sleep) -> RunOutcome:
    """Send the report of the period of `tick` to every recipient not yet served."""
    schedules.ensure_tables(conn)
    row = schedules.find(conn, schedule_key)
    spec = schedules.spec_of(row)
    period = spec.cadence.period_of(tick)
    outcome = RunOutcome(spec.name, period)
    next_run = spec.cadence.next_tick(tick)
    done = _finished_recipients(conn, row["schedule_id"], period)
    pending = [r for r in spec.recipients if r not in done]
    outcome.already_done = [r for r in spec.recipients if r in done]
    if not pending:
        _advance(conn, row["schedule_id"], next_run)
        conn.commit()
        return outcome

    notices = ["The marts were not confirmed complete for this period when this report was sent; figures may "
               "change."] if data_incomplete else []
    dataset, file = render_report(spec, period, conn=conn, notices=notices)
    if dataset.is_empty and not spec.send_if_empty:
        for recipient in pending:
            if _claim(conn, row["schedule_id"], period, recipient, run_id, tick):
                _finish(conn, row["schedule_id"], period, recipient, next_run, status="skipped",
                        error_class="EmptyPeriod", error="nothing happened in the period and send_if_empty is off")
                outcome.skipped.append(recipient)
        return outcome

    outcome.file = file
    folder = report_outbox()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file.file_name).write_bytes(file.content)
    attachment, too_large = fit_attachment(file, settings_module.load().report_max_bytes)
    details = {"file_name": file.file_name, "format": spec.format, "bytes": len(file.content),
               "sha256": hashlib.sha256(file.content).hexdigest(), "rows": file.rows,
               "data_refreshed_at": dataset.data_refreshed_at, "data_incomplete": data_incomplete}
    for recipient in pending:
        if not _claim(conn, row["schedule_id"], period, recipient, run_id, tick):
            outcome.already_done.append(recipient)
            continue
        message = report_message(dataset, attachment, schedule_name=spec.name, recipient=recipient,
                                 message_id=message_id_for(str(row["schedule_id"]), period.start.isoformat(), recipient),
                                 too_large_notice=too_large)
        try:
            result = send_message(message, sleep=sleep)
        except DeliveryError as error:
            _finish(conn, row["schedule_id"], period, recipient, next_run, status="failed",
                    attempts=getattr(error, "attempts", 1), error_class=error.error_class, error=str(error), **details)
            outcome.failed[recipient] = str(error)
            continue
        _finish(conn, row["schedule_id"], period, recipient, next_run,
                status="kept_in_outbox" if too_large else "sent", attempts=result.attempts,
                message_id=result.message_id, **details)
        outcome.sent.append(recipient)
    return outcome


def send_now(conn: psycopg.Connection, schedule_key: str, to: str, *, now: dt.datetime | None = None,
             sleep: Callable[[float], None] = time.sleep) -> RunOutcome:
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
    message = report_message(dataset, attachment, schedule_name=spec.name, recipient=address,
                             message_id=message_id_for("manual", str(row["schedule_id"]), period.start.isoformat(),
                                                       address, now.isoformat()), too_large_notice=too_large)
    outcome = RunOutcome(spec.name, period, file)
    try:
        result = send_message(message, sleep=sleep)
        status, error_class, error, message_id, attempts = "sent", None, None, result.message_id, result.attempts
        outcome.sent.append(address)
    except DeliveryError as failure:
        status, error_class, error, message_id = "failed", failure.error_class, str(failure), None
        attempts = getattr(failure, "attempts", 1)
        outcome.failed[address] = error
    conn.execute(sql.SQL("""
        insert into {}.report_deliveries (schedule_id, kind, period_start, period_end, recipient, status, attempts,
            error_class, error, message_id, file_name, format, bytes, sha256, rows, data_refreshed_at, finished_at)
        values (%s, 'manual', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
    """).format(_schema()), (row["schedule_id"], period.start, period.end, address, status, attempts, error_class,
                              error, message_id, file.file_name, spec.format, len(file.content),
                              hashlib.sha256(file.content).hexdigest(), file.rows, dataset.data_refreshed_at))
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

    @property
    def run_key(self) -> str:
        return f"report:{self.schedule_id}:{self.period.start.isoformat()}"


def due_runs(conn: psycopg.Connection, now: dt.datetime, *,
             data_ready: Callable[[Period, str], bool] | None = None) -> list[DueRun]:
    """The runs to launch now: for each active schedule whose next_run_at has
    passed, the due ticks its catch-up policy keeps (missed ones it drops are
    recorded as skipped and next_run_at moves past them). A tick whose marts are
    not ready waits, up to LAUNDRY_REPORT_DATA_WAIT_MINUTES, then runs with a
    "data incomplete" notice. `data_ready(period, report_type)` decides readiness
    (default: marts_ready, i.e. the marts of that report type; the Dagster sensor
    also requires the marts' blocking checks)."""
    schedules.ensure_tables(conn)
    data_ready = data_ready or (lambda period, report_type: marts_ready(conn, period, report_type))
    wait = dt.timedelta(minutes=settings_module.load().report_data_wait_minutes)
    runs: list[DueRun] = []
    with conn.cursor(row_factory=dict_row) as cur:
        due = cur.execute(sql.SQL("""
            select * from {}.report_schedules where is_active and next_run_at <= %s order by next_run_at, name
        """).format(_schema()), (now,)).fetchall()
    for row in due:
        spec = schedules.spec_of(row)
        ticks = spec.cadence.ticks_between(row["next_run_at"], now)
        if not ticks:
            continue
        if spec.catch_up == "all":
            keep = ticks[-spec.catch_up_cap:]
        elif spec.catch_up == "latest":
            keep = ticks[-1:]
        else:
            keep = [t for t in ticks[-1:] if now - t <= SKIP_GRACE]
        dropped = [t for t in ticks if t not in keep]
        for tick in dropped:
            _record_skipped(conn, row, spec, tick, f"missed while reports were not running (catch_up={spec.catch_up})")
        if not keep:
            _advance(conn, row["schedule_id"], spec.cadence.next_tick(ticks[-1]))
        conn.commit()
        for tick in keep:
            period = spec.cadence.period_of(tick)
            ready = data_ready(period, spec.report_type)
            if ready or now - tick >= wait:
                runs.append(DueRun(str(row["schedule_id"]), spec.name, tick, period, data_incomplete=not ready))
    return runs


def marts_ready(conn: psycopg.Connection, period: Period, report_type: str) -> bool:
    """Every mart `report_type` reads was rebuilt after `period` closed
    (reports.marts: REPORT_MARTS and the readiness rule of each mart)."""
    return not marts.unready_marts(conn, period, report_type)


# --- the ledger ----------------------------------------------------------------------


def _finished_recipients(conn, schedule_id, period: Period) -> set[str]:
    rows = conn.execute(sql.SQL("""
        select recipient from {}.report_deliveries
        where schedule_id = %s and period_start = %s and kind = 'scheduled' and status = any(%s)
    """).format(_schema()), (schedule_id, period.start, list(FINISHED))).fetchall()
    conn.commit()
    return {recipient for (recipient,) in rows}


def _claim(conn, schedule_id, period: Period, recipient: str, run_id: str | None, tick: dt.datetime) -> bool:
    """Claim (schedule, period, recipient) for this run; False if another run has
    it or it is finished."""
    claimed = conn.execute(sql.SQL("""
        insert into {schema}.report_deliveries as d
            (schedule_id, period_start, period_end, recipient, status, run_id, scheduled_for)
        values (%(schedule)s, %(start)s, %(end)s, %(recipient)s, 'claimed', %(run)s, %(tick)s)
        on conflict (schedule_id, period_start, recipient) where kind = 'scheduled' do update
            set claimed_at = now(), run_id = excluded.run_id
            where d.status = 'claimed'
              and (d.claimed_at < now() - %(timeout)s or d.run_id is not distinct from excluded.run_id)
        returning delivery_id
    """).format(schema=_schema()), {"schedule": schedule_id, "start": period.start, "end": period.end,
                                    "recipient": recipient, "run": run_id, "tick": tick,
                                    "timeout": CLAIM_TIMEOUT}).fetchone()
    conn.commit()
    return claimed is not None


def _finish(conn, schedule_id, period: Period, recipient: str, next_run: dt.datetime, *, status: str,
            **details) -> None:
    """Finish a claimed ledger row and advance the schedule, in one transaction."""
    columns = ["status", "finished_at", *details]
    with conn.transaction():
        conn.execute(sql.SQL("""
            update {schema}.report_deliveries set {assignments}
            where schedule_id = %s and period_start = %s and recipient = %s and kind = 'scheduled'
        """).format(schema=_schema(), assignments=sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.SQL("now()") if c == "finished_at" else sql.Placeholder())
            for c in columns)), [status, *details.values(), schedule_id, period.start, recipient])
        _advance(conn, schedule_id, next_run)
    conn.commit()


def _advance(conn, schedule_id, next_run: dt.datetime) -> None:
    conn.execute(sql.SQL("""
        update {}.report_schedules
        set last_run_at = now(), next_run_at = greatest(next_run_at, %s), updated_at = now()
        where schedule_id = %s
    """).format(_schema()), (next_run, schedule_id))


def _record_skipped(conn, row: dict, spec: schedules.ScheduleSpec, tick: dt.datetime, reason: str) -> None:
    period = spec.cadence.period_of(tick)
    for recipient in spec.recipients:
        conn.execute(sql.SQL("""
            insert into {}.report_deliveries (schedule_id, period_start, period_end, recipient, status,
                error_class, error, scheduled_for, finished_at)
            values (%s, %s, %s, %s, 'skipped', 'CatchUpPolicy', %s, %s, now())
            on conflict (schedule_id, period_start, recipient) where kind = 'scheduled' do nothing
        """).format(_schema()), (row["schedule_id"], period.start, period.end, recipient, reason, tick))
