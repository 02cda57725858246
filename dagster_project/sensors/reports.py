"""Scheduled reports in Dagster: a sensor that, every minute, queues due
schedules in the delivery ledger and launches one `send_report_job` run per
(schedule, period), with that pair as run key, so a tick evaluated twice or a
daemon restart never sends a period twice; it relaunches a period (run key
`…:relaunch-N`) when a recipient's retry is due or a run died holding its claim.
The run renders, emails and records each delivery (reports.runner). A run in
which any recipient is not delivered (retrying, failed, claimed elsewhere) fails,
after every recipient was attempted and recorded, with each recipient's state in
its metadata, so the data team's run-failure alert fires."""

import datetime as dt
from collections.abc import Callable

from dagster import AssetCheckSeverity, DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from dagster_project.resources import WarehouseResource
from reports import runner
from reports.marts import report_marts

clock: Callable[[], dt.datetime] = runner.utc_now
"""The "now" of the sensor (which ticks are due, how long their data has been waited
for, which retries are due) and for the ledger times its runs write (claims,
next attempts, the deadline). Tests set a fixed instant so that what is due does
not depend on the time of day the suite runs."""


def failed_blocking_checks(context: SensorEvaluationContext, report_type: str) -> list[str]:
    """Checks on the report's marts (reports.marts.report_marts) whose latest
    evaluation failed with severity ERROR (warn-severity source tests never block
    a report)."""
    marts = report_marts(report_type)
    keys = [key for key in context.repository_def.asset_graph.asset_check_keys if key.asset_key.path[-1] in marts]
    summaries = context.instance.event_log_storage.get_asset_check_summary_records(keys)
    failed = []
    for key, summary in summaries.items():
        record = summary.last_completed_check_execution_record
        evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
        if evaluation is not None and not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
            failed.append(key.to_user_string())
    return failed


@sensor(
    job_name="send_report_job",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Every minute: due report schedules (analytics.report_schedules), one run per schedule and "
    "period, after the marts for the period are built (or the wait runs out); relaunches a "
    "period when a delivery's retry is due or its run died (analytics.report_deliveries).",
)
def report_schedules_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    now = clock()
    with warehouse.connect() as conn:
        due = runner.due_runs(
            conn,
            now,
            data_ready=lambda period, report_type: (
                runner.marts_ready(conn, period, report_type) and not failed_blocking_checks(context, report_type)
            ),
        )
    if not due:
        yield SkipReason("no report schedule is due")
        return
    for run in due:
        yield RunRequest(
            run_key=run.run_key,
            run_config={
                "ops": {
                    "send_scheduled_report": {
                        "config": {
                            "schedule_id": run.schedule_id,
                            "tick": run.tick.isoformat(),
                            "data_incomplete": run.data_incomplete,
                        }
                    }
                }
            },
            tags={
                "laundry/schedule": run.schedule_name,
                "laundry/period": run.period.label(),
                "laundry/launch": str(run.launch),
            },
        )
