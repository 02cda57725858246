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

from dagster import (
    AssetCheckSeverity,
    Config,
    DefaultSensorStatus,
    Failure,
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
from reports.marts import report_marts

clock: Callable[[], dt.datetime] = runner.utc_now
"""The "now" of the sensor (which ticks are due, how long their data has been waited
for, which retries are due) and for the ledger times its runs write (claims,
next attempts, the deadline). Tests set a fixed instant so that what is due does
not depend on the time of day the suite runs."""


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
                                 run_id=context.run_id, data_incomplete=config.data_incomplete, clock=clock)
    metadata = {
        "schedule": outcome.schedule,
        "period": f"{outcome.period.start}..{outcome.period.end}",
        "recipients_sent": len(outcome.sent),
        "recipients_retrying": len(outcome.retrying),
        "recipients_failed": len(outcome.failed),
        "recipients_skipped": len(outcome.skipped) + len(outcome.already_done),
        "recipients": MetadataValue.json({to: str(state) for to, state in outcome.states.items()}),
    }
    if outcome.file is not None:
        metadata |= {"file": outcome.file.file_name, "bytes": len(outcome.file.content), "rows": outcome.file.rows,
                     "path": MetadataValue.path(str(runner.report_outbox() / outcome.file.file_name))}
    undelivered = outcome.undelivered
    if undelivered:
        # Fail the run only now, after every recipient was attempted and recorded: the
        # others have their report, the ledger holds each one's state (retrying ones
        # are relaunched by the sensor), and the data team is alerted.
        metadata["failures"] = MetadataValue.json(undelivered)
        metadata["failed_recipients"] = MetadataValue.json(sorted(undelivered))
        raise Failure(
            description=f"{outcome.schedule}, {outcome.period.label()}: {len(undelivered)} of "
                        f"{len(outcome.states)} recipient(s) not delivered, {len(outcome.sent)} sent by this run: "
                        + "; ".join(f"{to}: {state}" for to, state in sorted(undelivered.items())),
            metadata=metadata,
            allow_retries=False,  # retries are the ledger's (sensor relaunches), not the step's
        )
    yield Output(len(outcome.sent), metadata=metadata)


@job(description="One scheduled report for one period (launched by report_schedules_sensor).",
     tags={"laundry/kind": "report"})
def send_report_job():
    send_scheduled_report()


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


@sensor(job=send_report_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Every minute: due report schedules (analytics.report_schedules), one run per schedule and "
                    "period, after the marts for the period are built (or the wait runs out); relaunches a "
                    "period when a delivery's retry is due or its run died (analytics.report_deliveries).")
def report_schedules_sensor(context: SensorEvaluationContext):
    now = clock()
    with database.connect() as conn:
        due = runner.due_runs(conn, now, data_ready=lambda period, report_type: (
            runner.marts_ready(conn, period, report_type) and not failed_blocking_checks(context, report_type)))
    if not due:
        yield SkipReason("no report schedule is due")
        return
    for run in due:
        yield RunRequest(
            run_key=run.run_key,
            run_config={"ops": {"send_scheduled_report": {"config": {
                "schedule_id": run.schedule_id, "tick": run.tick.isoformat(), "data_incomplete": run.data_incomplete}}}},
            tags={"laundry/schedule": run.schedule_name, "laundry/period": run.period.label(),
                  "laundry/launch": str(run.launch)},
        )
