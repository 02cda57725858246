"""One refresh of a warehouse at a time, as Dagster sees it.

Every job that runs dbt carries the run tag `laundry/refresh` (its value: the
warehouse database). The instance's run queue lets one run with that tag start
at a time (`concurrency: runs: tag_concurrency_limits` in dagster.yaml, written
by dagster_project.instance); the nightly schedule skips a tick while a refresh
runs; and whatever starts dbt, the warehouse's refresh lock
(laundry_analytics.refresh_lock) keeps two dbt invocations apart.
"""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from laundry_analytics import database, refresh_lock

REFRESH_TAG = "laundry/refresh"

#: A run in these states is a refresh under way (or about to be).
_UNDER_WAY = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def refresh_tags() -> dict[str, str]:
    """Run tags of a job that runs dbt on the configured warehouse."""
    return {REFRESH_TAG: database.ensure_database().dbname}


def running_refresh(instance: DagsterInstance) -> str | None:
    """Who refreshes the configured warehouse now ("run id ..." of a queued or
    running Dagster refresh, or the holder of the warehouse's refresh lock, e.g.
    a `laundry-analytics dbt` command), or None."""
    records = instance.get_run_records(filters=RunsFilter(statuses=_UNDER_WAY, tags=refresh_tags()), limit=1)
    if records:
        return f"run id {records[0].dagster_run.run_id}"
    with database.connect(autocommit=True) as conn:
        return refresh_lock.holder(conn)
