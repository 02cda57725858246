"""Run-failure alerts: every failed run of this code location is emailed to the
data team (LAUNDRY_ALERT_RECIPIENTS) with the failed step, the error and a link
to the run, once per run (reports.alerts)."""

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from laundry_analytics import database
from reports.alerts import send_failure_alert


def failed_steps_and_error(context: RunFailureSensorContext) -> tuple[list[str], str]:
    steps, errors = [], []
    for event in context.get_step_failure_events():
        steps.append(event.step_key)
        info = event.event_specific_data.error
        errors.append(f"{event.step_key}: {info.to_string() if info else event.message}")
    if not errors and context.failure_event.message:
        errors.append(context.failure_event.message)
    return steps, "\n\n".join(errors) or "no error message was recorded"


@run_failure_sensor(name="email_data_team_on_run_failure", default_status=DefaultSensorStatus.RUNNING,
                    description="Email the data team once per failed run: failed step, error, link to the run.")
def email_data_team_on_run_failure(context: RunFailureSensorContext):
    steps, error = failed_steps_and_error(context)
    with database.connect() as conn:
        sent = send_failure_alert(conn, run_id=context.dagster_run.run_id, job_name=context.dagster_run.job_name,
                                  failed_steps=steps, error=error)
    context.log.info(f"alert for run {context.dagster_run.run_id}: {'sent' if sent else 'already sent'}")



