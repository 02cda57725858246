"""Every job of the code location: the catch-up run of every asset, the cache
refreshes (one job per TTL), the cleanup of expired cache rows, and one
scheduled report for one period (launched by the report sensor).

Names: a job is `<what>_job`; one of several cadences of the same work carries
its cadence zero-padded (`cache_refresh_05min_job`), so the UI's alphabetical
lists read in order. A schedule is named after its job: `<what>_<when>_schedule`
(dagster_project.schedules).

A job that runs dbt is tagged as a refresh of the warehouse, so the instance
runs one at a time (dagster_project.concurrency). The jobs of ops carry their
warehouse resource, so they run the same alone (tests) as in the code location.
"""

import datetime as dt
from collections import defaultdict

from dagster import (
    AssetSelection,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Output,
    define_asset_job,
    job,
    op,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from dagster_project.assets.cache import cache_asset_key
from dagster_project.assets.dbt_models import LEAN_RUN_TAG
from dagster_project.checks import ASSET_CHECKS, FRESHNESS_CHECKS
from dagster_project.concurrency import refresh_tags
from dagster_project.resources import WarehouseResource
from dagster_project.sensors import reports as report_sensors
from laundry_analytics import cache
from reports import runner

#: Every asset with its checks, plus every Python check. "*" alone leaves out checks
#: on the external source assets (ops/*), so the freshness check on ops/orders never
#: ran; the dbt source tests run anyway (dagster-dbt adds those upstream of the
#: models it builds). Not AssetSelection.all_asset_checks(): with every dbt check
#: selected, dagster-dbt runs laundry_dbt_models unsubsetted (`--select fqn:*`),
#: which picks the reconciliation tests too, before the daily marts they read exist.
NIGHTLY_SELECTION = AssetSelection.all() | AssetSelection.checks(*ASSET_CHECKS)

#: What the intraday refresh brings up to the latest committed ops rows: every cache
#: type and every table it reads, up to (not including) the staging views, which read
#: ops live. Each incremental model rebuilds only what changed since its last run (the
#: orders changed, their dates, their customers); the daily marts record the dates
#: rebuilt as their partitions. Left to the nightly run: data_quality_issues and
#: restricted/customer_contacts (whole-source scans nothing on the dashboard reads)
#: and the dbt tests; the intraday run checks how fresh what it built is.
INTRADAY_SELECTION = (
    (AssetSelection.groups("cache") | AssetSelection.tag("daily_partitioned", "")).upstream()
    - AssetSelection.groups("staging", "ops", "sources")
).without_checks() | AssetSelection.checks(*FRESHNESS_CHECKS)


def all_assets_job() -> UnresolvedAssetJobDefinition:
    """Everything, in dependency order: what `laundry-analytics demo` and the nightly
    schedule run (bringing every daily partition up to date:
    dagster_project.partitions.catch_up_run). Tagged as a refresh: one at a time."""
    return define_asset_job(
        "all_assets_job",
        selection=NIGHTLY_SELECTION,
        tags=refresh_tags(),
        description="Every dbt model (tests as checks), the source freshness check, then the "
        "cache. On the latest daily partition, dbt rebuilds the dates that changed, "
        "each recorded on its own partition.",
    )


def cache_refresh_job_name(minutes: int) -> str:
    """`cache_refresh_05min_job`: the cadence zero-padded, so the jobs sort by it."""
    return f"cache_refresh_{minutes:02d}min_job"


def intraday_refresh_job() -> UnresolvedAssetJobDefinition:
    """The marts and every cache type brought up to the latest committed ops rows,
    at a cost that follows what changed (INTRADAY_SELECTION): what the intraday
    schedule and `laundry-analytics refresh` run. A refresh: one at a time."""
    return define_asset_job(
        "intraday_refresh_job",
        selection=INTRADAY_SELECTION,
        tags={**refresh_tags(), LEAN_RUN_TAG: "true"},
        description="The facts, their daily aggregates and marts (the dates touched), the "
        "customers touched and every cache type, up to the latest committed ops "
        "rows; then how fresh they are. The dbt tests stay in the nightly run.",
    )


def cache_refresh_jobs() -> list[UnresolvedAssetJobDefinition]:
    """One job per TTL cadence, refreshing the cache types with that TTL."""
    by_minutes: dict[int, list[str]] = defaultdict(list)
    for cache_type in cache.cache_types():
        by_minutes[int(cache.ttl(cache_type).total_seconds() // 60)].append(cache_type)
    return [
        define_asset_job(
            cache_refresh_job_name(minutes),
            selection=AssetSelection.assets(*(cache_asset_key(t) for t in types)),
            description=f"Refresh the {', '.join(types)} cache every {minutes} minutes (their TTL).",
            tags={"laundry/cadence_minutes": str(minutes)},
        )
        for minutes, types in sorted(by_minutes.items())
    ]


@op(description="Delete analytics_cache rows whose expires_at has passed.")
def delete_expired_cache_rows(context: OpExecutionContext, warehouse: WarehouseResource) -> int:
    with warehouse.connect() as conn:
        deleted = cache.cleanup(conn=conn)
    context.log.info(f"{deleted} expired cache rows deleted")
    return deleted


@job(description="Hourly removal of expired analytics_cache rows.", resource_defs={"warehouse": WarehouseResource()})
def cache_cleanup_job() -> None:
    delete_expired_cache_rows()


class ReportRunConfig(Config):
    schedule_id: str
    tick: str
    """The scheduled instant (ISO, UTC) whose period the run reports on."""
    data_incomplete: bool = False


@op(
    description="Render the schedule's report for the tick's period and email it to every recipient not yet "
    "served; record each delivery in analytics.report_deliveries."
)
def send_scheduled_report(context: OpExecutionContext, config: ReportRunConfig, warehouse: WarehouseResource):
    # The sensor's clock: a run writes its ledger times (claims, next attempts) on it.
    with warehouse.connect() as conn:
        outcome = runner.deliver(
            conn,
            config.schedule_id,
            dt.datetime.fromisoformat(config.tick),
            run_id=context.run_id,
            data_incomplete=config.data_incomplete,
            clock=report_sensors.clock,
        )
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
        metadata |= {
            "file": outcome.file.file_name,
            "bytes": len(outcome.file.content),
            "rows": outcome.file.rows,
            "path": MetadataValue.path(str(runner.report_outbox() / outcome.file.file_name)),
        }
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


@job(
    description="One scheduled report for one period (launched by report_schedules_sensor).",
    tags={"laundry/kind": "report"},
    resource_defs={"warehouse": WarehouseResource()},
)
def send_report_job():
    send_scheduled_report()
