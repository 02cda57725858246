"""Scheduled reports in Dagster: a sensor that finds due schedules every minute
and launches one `send_report_job` run per (schedule, period), with that pair as
run key, so a tick evaluated twice or a daemon restart never sends a period twice;
the run renders, emails and records the delivery (reports.runner)."""

import datetime as dt

from dagster import (
    Config,
    DefaultSensorStatus,
    MetadataValue,
    OpExecutionContext,
    Output,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    job,
    op,
    sensor,
)

from laundry_analytics import database
from reports import runner


class ReportRunConfig(Config):
    schedule_id: str
    tick: str
    """The scheduled instant (ISO, UTC) whose period the run reports on."""
    data_incomplete: bool = False


@op(description="Render the schedule's report for the tick's period and email it to every recipient not yet "
                "served; record each delivery in analytics.report_deliveries.")
def send_scheduled_report(context: OpExecutionContext, config: ReportRunConfig):
    with database.connect() as conn:
        outcome = runner.deliver(conn, config.schedule_id, dt.datetime.fromisoformat(config.tick),
                                 run_id=context.run_id, data_incomplete=config.data_incomplete)
    metadata = {
        "schedule": outcome.schedule,
        "period": f"{outcome.period.start}..{outcome.period.end}",
        "recipients_sent": len(outcome.sent),
        "recipients_failed": len(outcome.failed),
        "recipients_skipped": len(outcome.skipped) + len(outcome.already_done),
    }
    if outcome.file is not None:
        metadata |= {"file": outcome.file.file_name, "bytes": len(outcome.file.content), "rows": outcome.file.rows,
                     "path": MetadataValue.path(str(runner.report_outbox() / outcome.file.file_name))}
    if outcome.failed:
        metadata["failures"] = MetadataValue.json(outcome.failed)
        context.log.warning(f"{len(outcome.failed)} recipient(s) failed: {outcome.failed}")
    yield Output(len(outcome.sent), metadata=metadata)


@job(description="One scheduled report for one period (launched by report_schedules_sensor).",
     tags={"laundry/kind": "report"})
def send_report_job():
    send_scheduled_report()


@sensor(job=send_report_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Every minute: due report schedules (analytics.report_schedules), one run per schedule and "
                    "period, after the marts for the period are built (or the wait runs out).")
def report_schedules_sensor(context: SensorEvaluationContext):
    now = dt.datetime.now(dt.timezone.utc)
    with database.connect() as conn:
        due = runner.due_runs(conn, now)
    if not due:
        yield SkipReason("no report schedule is due")
        return
    for run in due:
        yield RunRequest(
            run_key=run.run_key,
            run_config={"ops": {"send_scheduled_report": {"config": {
                "schedule_id": run.schedule_id, "tick": run.tick.isoformat(), "data_incomplete": run.data_incomplete}}}},
            tags={"laundry/schedule": run.schedule_name, "laundry/period": run.period.label()},
        )
