"""Failure alerts to the data team, through the same email delivery as reports.

At most one alert per failed run: the run id is claimed in `pipeline_alerts`
before sending (a sensor that re-reads the same failure finds it claimed), and
the Message-ID is derived from the run id.
"""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import formatdate

import psycopg
from psycopg import sql

from laundry_analytics import settings as settings_module
from reports.delivery import DeliveryError, message_id_for, send_message
from reports.schedules import parse_address

DDL = """
create table if not exists {schema}.pipeline_alerts (
    run_id text primary key,
    job_name text not null,
    recipients text[] not null,
    status text not null check (status in ('claimed', 'sent', 'failed')),
    error text,
    created_at timestamptz not null default now()
)
"""


def alert_recipients() -> list[str]:
    """LAUNDRY_ALERT_RECIPIENTS: comma-separated addresses of the data team."""
    raw = os.environ.get("LAUNDRY_ALERT_RECIPIENTS", "data-team@laundryconnect.example")
    return [parse_address(item) for item in raw.split(",") if item.strip()]


def run_url(run_id: str) -> str:
    base = os.environ.get("LAUNDRY_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")
    return f"{base}/runs/{run_id}"


def failure_message(*, run_id: str, job_name: str, failed_steps: list[str], error: str,
                    recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"Pipeline run failed: {job_name}"
    msg["From"] = settings_module.load().smtp_sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id_for("alert", run_id)
    msg.set_content(
        f"The Dagster run {run_id} of job {job_name} failed.\n\n"
        f"Failed step(s): {', '.join(failed_steps) or '(the run itself)'}\n\n"
        f"Error:\n{error.strip()[:4000]}\n\n"
        f"Open the run: {run_url(run_id)}\n"
    )
    return msg


def send_failure_alert(conn: psycopg.Connection, *, run_id: str, job_name: str, failed_steps: list[str],
                       error: str) -> bool:
    """Email the data team about a failed run, once per run. False if the run
    was alerted already."""
    schema = sql.Identifier(settings_module.load().analytics_schema)
    conn.execute(sql.SQL("create schema if not exists {}").format(schema))
    conn.execute(sql.SQL(DDL).format(schema=schema))
    recipients = alert_recipients()
    claimed = conn.execute(sql.SQL("""
        insert into {}.pipeline_alerts (run_id, job_name, recipients, status) values (%s, %s, %s, 'claimed')
        on conflict (run_id) do nothing returning run_id
    """).format(schema), (run_id, job_name, recipients)).fetchone()
    conn.commit()
    if not claimed:
        return False
    status, failure = "sent", None
    try:
        send_message(failure_message(run_id=run_id, job_name=job_name, failed_steps=failed_steps, error=error,
                                     recipients=recipients))
    except DeliveryError as delivery_error:
        status, failure = "failed", str(delivery_error)
    conn.execute(sql.SQL("update {}.pipeline_alerts set status = %s, error = %s where run_id = %s").format(schema),
                 (status, failure, run_id))
    conn.commit()
    if failure:
        raise DeliveryError(f"the failure alert for run {run_id} could not be sent: {failure}", permanent=True,
                            error_class="AlertNotSent")
    return True
