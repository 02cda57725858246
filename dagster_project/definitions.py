"""The one `Definitions` of the code location (workspace.yaml points here)."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from dagster_project.assets.cache import build_cache_assets
from dagster_project.assets.dbt_models import build_dbt_assets
from dagster_project.resources import build_resources
from dagster_project.checks import ASSET_CHECKS
from dagster_project.concurrency import refresh_tags
from dagster_project.schedules import build_schedules, cache_cleanup_job, cache_refresh_jobs
from dagster_project.sensors.alerts import email_data_team_on_run_failure, retry_failure_alerts_sensor
from dagster_project.sensors.reports import report_schedules_sensor, send_report_job


#: Every asset with its checks, plus every Python check. "*" alone leaves out checks
#: on the external source assets (ops/*), so the freshness check on ops/orders never
#: ran; the dbt source tests run anyway (dagster-dbt adds those upstream of the
#: models it builds). Not AssetSelection.all_asset_checks(): with every dbt check
#: selected, dagster-dbt runs laundry_dbt_models unsubsetted (`--select fqn:*`),
#: which picks the reconciliation tests too, before the daily marts they read exist.
NIGHTLY_SELECTION = AssetSelection.all() | AssetSelection.checks(*ASSET_CHECKS)


def build_definitions() -> Definitions:
    """Assemble the code location for the warehouse configured in the environment."""
    resources = build_resources()  # resolves the warehouse first: the manifest depends on it
    dbt_assets = build_dbt_assets()
    refresh_jobs = cache_refresh_jobs()
    # Everything, in dependency order: what `laundry-analytics demo` and the nightly
    # schedule run (bringing every daily partition up to date:
    # dagster_project.partitions.catch_up_run). Tagged as a refresh: one at a time.
    all_assets_job = define_asset_job("all_assets_job", selection=NIGHTLY_SELECTION, tags=refresh_tags(),
                                      description="Every dbt model (tests as checks), the source freshness check, then "
                                                  "the cache. On the latest daily partition, dbt rebuilds the dates "
                                                  "that changed, each recorded on its own partition.")
    return Definitions(
        assets=[*dbt_assets, *build_cache_assets(dbt_assets)],
        asset_checks=ASSET_CHECKS,
        jobs=[
            all_assets_job,
            *refresh_jobs,
            cache_cleanup_job,
            send_report_job,
        ],
        sensors=[report_schedules_sensor, email_data_team_on_run_failure, retry_failure_alerts_sensor],
        schedules=build_schedules(refresh_jobs, nightly_job=all_assets_job),
        resources=resources,
    )


defs = build_definitions()
