"""Run-failure alerts: every failed run of this code location is reported to the
data team (LAUNDRY_ALERT_RECIPIENTS) with the failed step, the error and a link
to the run, once per run (reports.alerts), and retried until it is sent.

An alert never depends on email alone: it is written to the outbox
(`alerts/alert-<run id>.eml`), and its state is shown on the failed run itself as
the tags `laundry/alert` (sent, retrying with the error and the next attempt, or
failed) and `laundry/alert_file`, and in the sensors' tick logs."""

import datetime as dt
from collections.abc import Callable

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from dagster_project.resources import WarehouseResource
from reports.alerts import AlertState, retry_failure_alerts, send_failure_alert
from reports.runner import utc_now

clock: Callable[[], dt.datetime] = utc_now
"""The alerts' "now" (when a retry is due); tests set it."""


def failed_steps_and_error(context: RunFailureSensorContext) -> tuple[list[str], str]:
    steps, errors = [], []
    for event in context.get_step_failure_events():
        steps.append(event.step_key)
        info = event.event_specific_data.error
        errors.append(f"{event.step_key}: {info.to_string() if info else event.message}")
    if not errors and context.failure_event.message:
        errors.append(context.failure_event.message)
    return steps, "\n\n".join(errors) or "no error message was recorded"


def show_on_run(context: SensorEvaluationContext | RunFailureSensorContext, alert: AlertState) -> None:
    """Put the alert's state on the failed run's page (tags) and in the tick's log."""
    if context.instance.has_run(alert.run_id):
        context.instance.add_run_tags(alert.run_id, alert.tags)
    log = context.log.info if alert.status == "sent" else context.log.warning
    copy = f"; copy in {alert.outbox_file}" if alert.outbox_file else ""
    log(f"alert for run {alert.run_id}: {'already ' if alert.repeat else ''}{alert.status}: {alert.detail}{copy}")


@run_failure_sensor(
    name="email_data_team_on_run_failure",
    default_status=DefaultSensorStatus.RUNNING,
    description="Alert the data team once per failed run (email, outbox, tags on the run): failed "
    "step, error, link to the run.",
)
def email_data_team_on_run_failure(context: RunFailureSensorContext, warehouse: WarehouseResource):
    steps, error = failed_steps_and_error(context)
    with warehouse.connect() as conn:
        alert = send_failure_alert(
            conn,
            run_id=context.dagster_run.run_id,
            job_name=context.dagster_run.job_name,
            failed_steps=steps,
            error=error,
            now=clock(),
        )
    show_on_run(context, alert)
    if alert.status != "sent" and not alert.repeat:
        context.log.warning(f"the alert, not emailed yet:\n{error}")


@sensor(
    name="retry_failure_alerts",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every minute: send again the failure alerts whose retry is due (analytics.pipeline_alerts).",
)
def retry_failure_alerts_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    with warehouse.connect() as conn:
        alerts = retry_failure_alerts(conn, clock())
    for alert in alerts:
        show_on_run(context, alert)
    return SkipReason(
        f"{len(alerts)} alert(s) retried: " + ", ".join(f"{a.run_id} {a.status}" for a in alerts)
        if alerts
        else "no alert retry is due"
    )
