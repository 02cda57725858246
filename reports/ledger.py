"""The delivery ledger of scheduled reports (`report_deliveries`): one row per
(schedule, period, recipient) and the moves between its states
(DELIVERY_STATUSES):

    queued ──► claimed ──► sent | kept_in_outbox | skipped
                  │  ▲
                  │  └── retrying (next_attempt_at) ◄── transient failure
                  └──► failed (permanent failure, or the deadline passed)

A run claims every recipient it will serve before doing anything else, and
refreshes the claim just before sending to it, so a claim is either finished by
its run or goes stale after the claim timeout; the sensor relaunches a period
whose claims went stale or whose retries are due (`relaunch`). Only the row's
owner (its run_id, while the claim is fresh) can finish it: exactly one run at a
time sends to a (schedule, period, recipient).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import settings as settings_module
from laundry_analytics.analytics_schema import identifier
from reports.delivery import claim_timeout, describe, is_transient, next_attempt_at
from reports.periods import Period

DELIVERY_STATUSES = {
    "queued": "due; the sensor launched (or is about to launch) a run for it",
    "claimed": "a run is sending it (claimed_at); relaunched if that run dies (next_attempt_at)",
    "sent": "accepted by the SMTP server (or written to the outbox when no server is set)",
    "kept_in_outbox": "sent without the file, over the attachment limit; the file is in the outbox",
    "retrying": "failed transiently (error); tried again at next_attempt_at until the deadline",
    "failed": "failed for good (error_class, error): a permanent error or the deadline passed",
    "skipped": "not sent on purpose (error: why)",
}
"""Every state of a scheduled delivery, with what it means (reports.runner moves
rows between them)."""
DELIVERED = ("sent", "kept_in_outbox", "skipped")
"""The states of a recipient that was served; a run whose recipients are not all
in one of them fails."""
OPEN = ("queued", "claimed", "retrying")
"""The states the sensor watches (next_attempt_at): still to be delivered."""


@dataclass(frozen=True)
class RecipientState:
    status: str
    cause: str = ""
    """Why it is not sent: the error class and message, the skip reason, or
    which run holds the claim."""

    def __str__(self) -> str:
        return f"{self.status}: {self.cause}" if self.cause else self.status


def _minute(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class PeriodLedger:
    """The ledger rows of one (schedule, period), as seen by one run."""

    conn: psycopg.Connection
    schedule_id: object
    period: Period
    run_id: str | None
    clock: Callable[[], dt.datetime]

    def _key(self, recipient: str) -> dict:
        return {"schedule": self.schedule_id, "start": self.period.start, "recipient": recipient, "run": self.run_id}

    def claim(self, recipients: list[str], *, tick: dt.datetime, data_incomplete: bool) -> list[str]:
        """Claim every recipient this run may serve: no row yet, queued, retrying
        (a run for the period tries them now, even before their next attempt), or
        claimed by a run that died (stale) or by this same run (a step retry)."""
        now = self.clock()
        rows = self.conn.execute(
            sql.SQL("""
            insert into {schema}.report_deliveries as d (schedule_id, period_start, period_end, recipient, status,
                run_id, scheduled_for, data_incomplete, created_at, claimed_at, next_attempt_at)
            select %(schedule)s, %(start)s, %(end)s, recipient, 'claimed', %(run)s, %(tick)s, %(incomplete)s,
                %(now)s, %(now)s, %(stale_at)s
            from unnest(%(recipients)s::text[]) as recipient
            on conflict (schedule_id, period_start, recipient) where kind = 'scheduled' do update
                set status = 'claimed', run_id = excluded.run_id, claimed_at = excluded.claimed_at,
                    next_attempt_at = excluded.next_attempt_at
                where d.status in ('queued', 'retrying')
                   or (d.status = 'claimed' and (d.claimed_at <= %(now)s - %(timeout)s
                                                 or d.run_id is not distinct from excluded.run_id))
            returning recipient
        """).format(schema=identifier()),
            {
                "schedule": self.schedule_id,
                "start": self.period.start,
                "end": self.period.end,
                "run": self.run_id,
                "tick": tick,
                "incomplete": data_incomplete,
                "now": now,
                "stale_at": now + claim_timeout(),
                "timeout": claim_timeout(),
                "recipients": recipients,
            },
        ).fetchall()
        claimed = {recipient for (recipient,) in rows}
        return [r for r in recipients if r in claimed]

    def hold(self, recipient: str) -> bool:
        """Refresh this run's claim just before sending; False if it is not ours
        any more (another run took it over after it went stale)."""
        now = self.clock()
        held = self.conn.execute(
            sql.SQL("""
            update {}.report_deliveries set claimed_at = %(now)s, next_attempt_at = %(stale_at)s
            where schedule_id = %(schedule)s and period_start = %(start)s and recipient = %(recipient)s
              and kind = 'scheduled' and status = 'claimed' and run_id is not distinct from %(run)s
            returning 1
        """).format(identifier()),
            {**self._key(recipient), "now": now, "stale_at": now + claim_timeout()},
        ).fetchone()
        self.conn.commit()
        return held is not None

    def finish(self, recipient: str, status: str, *, attempts: int = 0, **details) -> None:
        """Record the outcome of this run's claim (sent, kept_in_outbox, skipped,
        retrying or failed) with its details; the previous error is cleared
        unless `details` gives one."""
        values = {
            "status": status,
            "finished_at": self.clock(),
            "next_attempt_at": None,
            "error_class": None,
            "error": None,
            **details,
        }
        if status in OPEN:
            values["finished_at"] = None
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)) for column in values
        )
        self.conn.execute(
            sql.SQL("""
            update {schema}.report_deliveries set {assignments}, attempts = attempts + %(attempts)s
            where schedule_id = %(schedule)s and period_start = %(start)s and recipient = %(recipient)s
              and kind = 'scheduled' and status = 'claimed' and run_id is not distinct from %(run)s
        """).format(schema=identifier(), assignments=assignments),
            {**values, **self._key(recipient), "attempts": attempts},
        )
        self.conn.commit()

    def record_failure(self, recipient: str, error: BaseException, **details) -> RecipientState:
        """Record an exception of this recipient's delivery: retrying (transient,
        before the deadline) or failed."""
        self.conn.rollback()  # a failed statement may have aborted the transaction
        now = self.clock()
        (first_attempt,) = self.conn.execute(
            sql.SQL("""
            select created_at from {}.report_deliveries
            where schedule_id = %(schedule)s and period_start = %(start)s and recipient = %(recipient)s
              and kind = 'scheduled'
        """).format(identifier()),
            self._key(recipient),
        ).fetchone()
        error_class, message = describe(error)
        retry_at = next_attempt_at(first_attempt, now) if is_transient(error) else None
        if retry_at is None and is_transient(error):
            message = (
                f"still failing at the {settings_module.load().delivery_deadline_hours:g}-hour deadline: {message}"
            )
        status = "retrying" if retry_at else "failed"
        self.finish(
            recipient,
            status,
            attempts=getattr(error, "attempts", 1),
            error_class=error_class,
            error=message,
            next_attempt_at=retry_at,
            **details,
        )
        return RecipientState(
            status, f"{error_class}: {message}" + (f" (next attempt {_minute(retry_at)})" if retry_at else "")
        )

    def states(self, recipients: list[str]) -> dict[str, RecipientState]:
        """Every recipient's state as the ledger has it now."""
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = {
                row["recipient"]: row
                for row in cur.execute(
                    sql.SQL("""
                select recipient, status, error_class, error, next_attempt_at, run_id, claimed_at
                from {}.report_deliveries
                where schedule_id = %(schedule)s and period_start = %(start)s and kind = 'scheduled'
            """).format(identifier()),
                    self._key(""),
                ).fetchall()
            }
        self.conn.commit()
        return {recipient: _state(rows.get(recipient)) for recipient in recipients}


def _state(row: dict | None) -> RecipientState:
    if row is None:
        return RecipientState("missing", "no ledger row")
    if row["status"] == "claimed":
        return RecipientState(
            "claimed",
            f"by run {row['run_id']} at {_minute(row['claimed_at'])}; relaunched "
            f"after {_minute(row['next_attempt_at'])} if that run died",
        )
    if row["status"] == "queued":
        return RecipientState("queued", "waiting for its run")
    cause = f"{row['error_class']}: {row['error']}" if row["error"] else ""
    if row["status"] == "retrying":
        cause += f" (next attempt {_minute(row['next_attempt_at'])})"
    return RecipientState(row["status"], cause)


def queue(
    conn: psycopg.Connection,
    schedule_id,
    period: Period,
    recipients: list[str],
    *,
    tick: dt.datetime,
    data_incomplete: bool,
    now: dt.datetime,
) -> None:
    """Record a due tick's recipients as queued (the sensor, before launching its
    run): from now on the ledger remembers the period even if its run never starts."""
    conn.execute(
        sql.SQL("""
        insert into {}.report_deliveries (schedule_id, period_start, period_end, recipient, status, scheduled_for,
            data_incomplete, created_at, claimed_at, next_attempt_at)
        select %s, %s, %s, recipient, 'queued', %s, %s, %s, %s, %s from unnest(%s::text[]) as recipient
        on conflict (schedule_id, period_start, recipient) where kind = 'scheduled' do nothing
    """).format(identifier()),
        (schedule_id, period.start, period.end, tick, data_incomplete, now, now, now + claim_timeout(), recipients),
    )


def open_periods(conn: psycopg.Connection, now: dt.datetime) -> list[dict]:
    """Each (schedule, period) with recipients still to deliver: its tick, launch
    count, whether any row is overdue (a stale claim, a due retry, a queued row
    whose run never started) and whether any is still queued."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL("""
            select d.schedule_id, s.name, d.period_start, d.period_end, min(d.scheduled_for) as tick,
                   bool_or(d.data_incomplete) as data_incomplete, max(d.launches) as launches,
                   bool_or(d.next_attempt_at <= %(now)s) as overdue, bool_or(d.status = 'queued') as queued
            from {schema}.report_deliveries d join {schema}.report_schedules s using (schedule_id)
            where d.kind = 'scheduled' and d.status in ({open})
            group by d.schedule_id, s.name, d.period_start, d.period_end
            order by tick, s.name
        """).format(schema=identifier(), open=sql.SQL(", ").join(map(sql.Literal, OPEN))),
            {"now": now},
        ).fetchall()


def relaunch(conn: psycopg.Connection, schedule_id, period_start: dt.date, launch: int, now: dt.datetime) -> None:
    """Before the sensor launches run number `launch` for a period: rows whose run
    died (stale claims, queued rows never claimed) past the deadline fail (the run
    then fails and alerts); the others wait for that run (a new claim timeout)."""
    hours = settings_module.load().delivery_deadline_hours
    key = {"schedule": schedule_id, "start": period_start, "now": now}
    conn.execute(
        sql.SQL("""
        update {}.report_deliveries
        set status = 'failed', error_class = 'DeadlineExceeded', finished_at = %(now)s, next_attempt_at = null,
            error = %(why)s || coalesce('; last error: ' || error_class || ': ' || error, '')
        where schedule_id = %(schedule)s and period_start = %(start)s and kind = 'scheduled'
          and status in ('queued', 'claimed') and next_attempt_at <= %(now)s and created_at <= %(now)s - %(deadline)s
    """).format(identifier()),
        {**key, "deadline": dt.timedelta(hours=hours), "why": f"no run finished it within the {hours:g}-hour deadline"},
    )
    conn.execute(
        sql.SQL("""
        update {}.report_deliveries set launches = %(launch)s, next_attempt_at = %(stale_at)s
        where schedule_id = %(schedule)s and period_start = %(start)s and kind = 'scheduled' and status = any(%(open)s)
    """).format(identifier()),
        {**key, "launch": launch, "stale_at": now + claim_timeout(), "open": list(OPEN)},
    )
