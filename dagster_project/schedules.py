"""Schedules: the nightly refresh of the marts, the intraday refresh of the marts
and the cache (every LAUNDRY_INTRADAY_MINUTES), the cache refreshes at their TTL
cadence and the hourly cleanup.

Every schedule gives its run a run key (the scheduled time), so a daemon restart
that re-evaluates a tick never launches the same run twice. Schedules start
stopped: a data engineer turns them on in the UI (or `dagster schedule start`).
A schedule of a dbt refresh skips its tick while another refresh of the
warehouse runs, and the tick says which (dagster_project.concurrency).
"""

from __future__ import annotations

from collections.abc import Callable

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from dagster_project.concurrency import running_refresh
from dagster_project.jobs import cache_cleanup_job
from dagster_project.partitions import catch_up_run, daily_partitions
from laundry_analytics import refresh_lock
from laundry_analytics import settings as settings_module


def _keyed_schedule(
    name: str,
    cron: str,
    target: JobDefinition | UnresolvedAssetJobDefinition,
    description: str,
    request: Callable[[ScheduleEvaluationContext], dict] = lambda context: {},
    refresh: bool = False,
) -> ScheduleDefinition:
    """A schedule in business time whose runs are keyed by their tick; `request`
    adds RunRequest arguments (tags, run config) for the tick. A `refresh`
    schedule (its job runs dbt) skips its tick while another refresh runs."""

    @schedule(
        name=name,
        cron_schedule=cron,
        job=target,
        description=description,
        execution_timezone=settings_module.load().business_timezone,
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def _schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        running = running_refresh(context.instance) if refresh else None
        if running:
            return SkipReason(f"{refresh_lock.running_message(running)}: tick skipped, the next one catches up")
        return RunRequest(run_key=f"{name}:{context.scheduled_execution_time.isoformat()}", **request(context))

    return _schedule


NIGHTLY_CRON = "0 1 * * *"
"""01:00 business time: the original system refreshed revenue at 01:00, partner
metrics at 02:00 and customer analytics at 03:00; one run builds them in
dependency order (each model shows as its own materialization in the UI), over
every daily partition up to the tick's day, rebuilding only the changed dates.
While another refresh of the warehouse runs, the tick is skipped (and says so):
the next night's run rebuilds whatever changed in between."""


def intraday_cron() -> str:
    """Every LAUNDRY_INTRADAY_MINUTES minutes (default 5: the dashboard cache's TTL)."""
    return f"*/{settings_module.load().intraday_minutes} * * * *"


def build_schedules(
    refresh_jobs: list[UnresolvedAssetJobDefinition],
    nightly_job: UnresolvedAssetJobDefinition,
    intraday_job: UnresolvedAssetJobDefinition,
) -> list[ScheduleDefinition]:
    partitions_def = daily_partitions()

    def catch_up(context: ScheduleEvaluationContext) -> dict:
        return catch_up_run(partitions_def, context.scheduled_execution_time)

    schedules = [
        _keyed_schedule(
            "all_assets_nightly_schedule",
            NIGHTLY_CRON,
            nightly_job,
            "Every night at 01:00 business time: every dbt model, check and cache payload, "
            "rebuilding the daily partitions whose inputs changed. Skips its tick while "
            "another refresh of the warehouse runs.",
            catch_up,
            refresh=True,
        ),
        _keyed_schedule(
            "intraday_refresh_schedule",
            intraday_cron(),
            intraday_job,
            "Every LAUNDRY_INTRADAY_MINUTES (default 5): the marts and every cache type up to the "
            "latest committed ops rows, rebuilding only what changed (intraday_refresh_job). Skips its "
            "tick while another refresh (intraday or nightly) runs, and says so.",
            catch_up,
            refresh=True,
        ),
    ]
    schedules += [
        _keyed_schedule(
            refresh_job.name.removesuffix("_job") + "_schedule",
            f"*/{refresh_job.tags['laundry/cadence_minutes']} * * * *",
            refresh_job,
            refresh_job.description,
        )
        for refresh_job in refresh_jobs
    ]
    schedules.append(
        _keyed_schedule(
            "cache_cleanup_hourly_schedule",
            "0 * * * *",
            cache_cleanup_job,
            "Every hour on the hour: delete the analytics_cache rows whose expires_at has passed.",
        )
    )
    return schedules
