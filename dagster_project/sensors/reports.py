"""Scheduled reports in Dagster: a sensor that finds due schedules every minute
and launches one `send_report_job` run per (schedule, period), with that pair as
run key, so a tick evaluated twice or a daemon restart never sends a period twice;
the run renders, emails and records the delivery (reports.runner). A run in which
any recipient failed fails (after every recipient was attempted and the ledger
written), so the data team's run-failure alert fires."""

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
from reports.marts import REPORT_MARTS


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


clock: Callable[[], dt.datetime] = utc_now
"""The sensor's "now" (which ticks are due, how long their data has been waited
for). Tests set a fixed instant so that what is due does not depend on the time
of day the suite runs."""


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
        # Fail the run only now, after every recipient was attempted and the ledger
        # written: the others have their report, a re-execution skips every finished
        # recipient (a failed one too: permanent failures are final), and the failed
        # run triggers the data team's alert instead of passing as a success.
        metadata["failures"] = MetadataValue.json(outcome.failed)
        metadata["failed_recipients"] = MetadataValue.json(sorted(outcome.failed))
        raise Failure(
            description=f"{outcome.schedule}, {outcome.period.label()}: {len(outcome.failed)} recipient(s) failed, "
                        f"{len(outcome.sent)} sent; failed: "
                        + "; ".join(f"{to}: {error}" for to, error in sorted(outcome.failed.items())),
            metadata=metadata,
            allow_retries=False,  # a retry would find every recipient finished and pass: the failure would vanish
        )
    yield Output(len(outcome.sent), metadata=metadata)


@job(description="One scheduled report for one period (launched by report_schedules_sensor).",
     tags={"laundry/kind": "report"})
def send_report_job():
    send_scheduled_report()


def failed_blocking_checks(context: SensorEvaluationContext, report_type: str) -> list[str]:
    """Checks on the report's marts (reports.marts.REPORT_MARTS) whose latest
    evaluation failed with severity ERROR (warn-severity source tests never block
    a report)."""
    keys = [key for key in context.repository_def.asset_graph.asset_check_keys
            if key.asset_key.path[-1] in REPORT_MARTS[report_type]]
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
                    "period, after the marts for the period are built (or the wait runs out).")
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
            tags={"laundry/schedule": run.schedule_name, "laundry/period": run.period.label()},
        )
