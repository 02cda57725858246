"""Failure alerts to the data team: one per failed run, retried like a report
delivery, and never only by email.

At most one alert email per failed run: the run id is claimed in
`pipeline_alerts` before sending (a sensor that re-reads the same failure finds
it claimed), and the Message-ID is derived from the run id. The row goes
claimed → sent | retrying (next_attempt_at, retried by `retry_failure_alerts`
until LAUNDRY_DELIVERY_DEADLINE_HOURS) | failed, with the cause recorded. Since
the email may go through the very SMTP server whose outage failed the run, every
alert is also written to the outbox (`alerts/alert-<run id>.eml` under
LAUNDRY_OUTBOX) on every attempt, and the Dagster sensors put its state on the
failed run as tags (dagster_project.sensors.alerts).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import analytics_schema
from laundry_analytics import settings as settings_module
from reports.delivery import (
    claim_timeout,
    describe,
    is_transient,
    message_id_for,
    next_attempt_at,
    send_message,
    write_eml,
)

STATUSES = ("claimed", "sent", "retrying", "failed")

DDL = """
create table if not exists {schema}.pipeline_alerts (
    run_id text primary key,
    job_name text not null,
    recipients text[] not null,
    status text not null check (status in ({statuses})),
    subject text,
    body text,
    attempts smallint not null default 0,
    error_class text,
    error text,
    outbox_file text,
    next_attempt_at timestamptz,
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
-- Tables created before alerts were retried: add their columns and statuses once.
do $$ begin
    if not exists (select from pg_attribute where attrelid = '{schema}.pipeline_alerts'::regclass
                   and attname = 'next_attempt_at') then
        alter table {schema}.pipeline_alerts
            add column if not exists subject text, add column if not exists body text,
            add column if not exists attempts smallint not null default 0,
            add column if not exists error_class text, add column if not exists outbox_file text,
            add column if not exists next_attempt_at timestamptz, add column if not exists sent_at timestamptz,
            drop constraint if exists pipeline_alerts_status_check,
            add constraint pipeline_alerts_status_check check (status in ({statuses}));
    end if;
end $$;
"""


@dataclass(frozen=True)
class AlertState:
    """Where a run's alert stands, for the run's tags and the sensor's log."""

    run_id: str
    status: str
    detail: str
    outbox_file: str | None = None
    repeat: bool = False
    """True when the alert was handled by an earlier sensor evaluation."""

    @property
    def tags(self) -> dict[str, str]:
        tags = {"laundry/alert": f"{self.status}: {self.detail}"[:500]}
        if self.outbox_file:
            tags["laundry/alert_file"] = self.outbox_file
        return tags


def alert_recipients() -> list[str]:
    """The data team's addresses (LAUNDRY_ALERT_RECIPIENTS, validated with the settings)."""
    return list(settings_module.load().alert_recipients)


def alert_outbox() -> Path:
    """Where every alert is kept as an .eml, whether or not its email went out."""
    return settings_module.load().outbox / "alerts"


def run_url(run_id: str) -> str:
    return f"{settings_module.load().dagster_url}/runs/{run_id}"


def alert_text(*, run_id: str, job_name: str, failed_steps: list[str], error: str) -> tuple[str, str]:
    """The alert's subject and body."""
    return f"Pipeline run failed: {job_name}", (
        f"The Dagster run {run_id} of job {job_name} failed.\n\n"
        f"Failed step(s): {', '.join(failed_steps) or '(the run itself)'}\n\n"
        f"Error:\n{error.strip()[:4000]}\n\n"
        f"Open the run: {run_url(run_id)}\n"
    )


def _message(alert: dict) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = alert["subject"]
    msg["From"] = settings_module.load().smtp_sender
    msg["To"] = ", ".join(alert["recipients"])
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id_for("alert", alert["run_id"])
    msg.set_content(alert["body"])
    return msg


def _table(conn: psycopg.Connection) -> sql.Identifier:
    """The schema of pipeline_alerts, creating the table first (once per process and database)."""
    schema = analytics_schema.identifier()

    def create(c: psycopg.Connection) -> None:
        c.execute(sql.SQL(DDL).format(schema=schema, statuses=sql.SQL(", ").join(map(sql.Literal, STATUSES))))

    analytics_schema.ensure(conn, "pipeline_alerts", create)
    return schema


def send_failure_alert(
    conn: psycopg.Connection,
    *,
    run_id: str,
    job_name: str,
    failed_steps: list[str],
    error: str,
    now: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AlertState:
    """Alert the data team about a failed run, once per run: claim it, write it
    to the outbox, email it; a repeat returns the state recorded the first time."""
    schema = _table(conn)
    now = now or dt.datetime.now(dt.timezone.utc)
    subject, body = alert_text(run_id=run_id, job_name=job_name, failed_steps=failed_steps, error=error)
    recipients = alert_recipients()  # none: the alert still goes to the outbox and the run's tags
    with conn.cursor(row_factory=dict_row) as cur:
        alert = cur.execute(
            sql.SQL("""
            insert into {}.pipeline_alerts (run_id, job_name, recipients, status, subject, body, created_at,
                next_attempt_at)
            values (%s, %s, %s, 'claimed', %s, %s, %s, %s)
            on conflict (run_id) do nothing returning *
        """).format(schema),
            (run_id, job_name, recipients, subject, body, now, now + claim_timeout()),
        ).fetchone()
        conn.commit()
        if alert is None:
            earlier = cur.execute(
                sql.SQL("select * from {}.pipeline_alerts where run_id = %s").format(schema), (run_id,)
            ).fetchone()
            conn.commit()
            return _state(earlier, repeat=True)
    return _attempt(conn, schema, alert, now, sleep)


def retry_failure_alerts(
    conn: psycopg.Connection, now: dt.datetime, sleep: Callable[[float], None] = time.sleep
) -> list[AlertState]:
    """Try again every alert whose retry is due, or whose sender died holding it."""
    schema = _table(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        due = cur.execute(
            sql.SQL("""
            update {}.pipeline_alerts set status = 'claimed', next_attempt_at = %s
            where status in ('retrying', 'claimed') and next_attempt_at <= %s and body is not null
            returning *
        """).format(schema),
            (now + claim_timeout(), now),
        ).fetchall()
    conn.commit()
    return [_attempt(conn, schema, alert, now, sleep) for alert in due]


def _attempt(
    conn: psycopg.Connection, schema: sql.Identifier, alert: dict, now: dt.datetime, sleep: Callable[[float], None]
) -> AlertState:
    cfg = settings_module.load()
    outbox_file, failure, attempts = None, None, 1
    try:
        msg = _message(alert)
        try:
            outbox_file = str(write_eml(msg, alert_outbox(), name=f"alert-{alert['run_id']}"))
        except OSError:
            if not cfg.smtp_host:
                raise  # the outbox is the only channel
        if cfg.smtp_host:
            if not alert["recipients"]:
                raise ValueError("LAUNDRY_ALERT_RECIPIENTS has no address: give the data team's addresses")
            attempts = send_message(msg, sleep=sleep).attempts
    except Exception as error:  # any failure is recorded
        failure, attempts = error, getattr(error, "attempts", 1)
    status, error_class, message, retry_at = "sent", None, None, None
    if failure is not None:
        error_class, message = describe(failure)
        retry_at = next_attempt_at(alert["created_at"], now) if is_transient(failure) else None
        status = "retrying" if retry_at else "failed"
        if status == "failed" and is_transient(failure):
            message = f"still failing at the {cfg.delivery_deadline_hours:g}-hour deadline: {message}"
    with conn.cursor(row_factory=dict_row) as cur:
        alert = cur.execute(
            sql.SQL("""
            update {}.pipeline_alerts
            set status = %s, error_class = %s, error = %s, next_attempt_at = %s, attempts = attempts + %s,
                outbox_file = coalesce(%s, outbox_file), sent_at = case when %s = 'sent' then %s end
            where run_id = %s returning *
        """).format(schema),
            (status, error_class, message, retry_at, attempts, outbox_file, status, now, alert["run_id"]),
        ).fetchone()
    conn.commit()
    return _state(alert)


def _state(alert: dict, repeat: bool = False) -> AlertState:
    if alert["status"] == "sent":
        detail = (
            f"emailed to {', '.join(alert['recipients'])}"
            if settings_module.load().smtp_host
            else "written to the outbox (no SMTP server is set)"
        )
    elif alert["status"] == "claimed":
        detail = "being sent"
    else:
        detail = f"{alert['error_class']}: {alert['error']}"
        if alert["status"] == "retrying":
            detail += f" (next attempt {alert['next_attempt_at'].astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC)"
    return AlertState(alert["run_id"], alert["status"], detail, alert["outbox_file"], repeat)
