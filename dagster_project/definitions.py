"""The code location (workspace.yaml and `dagster ... -m dagster_project.definitions`
load `defs`): the assets, checks, jobs, schedules, sensors and resources of the
modules beside this one.

`defs` is built when Dagster (or a caller) asks for it, not when this module is
imported: building it resolves the warehouse (starting the embedded server if
that is the configuration) and prepares the dbt manifest (`dbt parse` when it is
stale), which an import must not do.
"""

from __future__ import annotations

import dagster as dg

from dagster_project import jobs
from dagster_project.assets.cache import build_cache_assets
from dagster_project.assets.dbt_models import build_dbt_assets
from dagster_project.assets.sources import build_source_specs
from dagster_project.checks import ASSET_CHECKS, build_last_update_checks, freshness_checks_sensor
from dagster_project.project import load_manifest
from dagster_project.resources import build_resources
from dagster_project.schedules import build_schedules
from dagster_project.sensors.alerts import email_data_team_on_run_failure, retry_failure_alerts_sensor
from dagster_project.sensors.reports import report_schedules_sensor


def build_definitions() -> dg.Definitions:
    """Assemble the code location for the warehouse configured in the environment."""
    resources = build_resources()  # resolves the warehouse first: the manifest depends on it
    dbt_assets = build_dbt_assets()
    sources = build_source_specs(load_manifest())
    refresh_jobs = jobs.cache_refresh_jobs()
    all_assets_job = jobs.all_assets_job()
    intraday_job = jobs.intraday_refresh_job()
    cache_assets = build_cache_assets(dbt_assets)
    last_update_checks = build_last_update_checks(cache_assets)
    return dg.Definitions(
        assets=[*sources, *dbt_assets, *cache_assets],
        asset_checks=[*ASSET_CHECKS, *last_update_checks],
        jobs=[all_assets_job, intraday_job, *refresh_jobs, jobs.cache_cleanup_job, jobs.send_report_job],
        sensors=[
            report_schedules_sensor,
            email_data_team_on_run_failure,
            retry_failure_alerts_sensor,
            freshness_checks_sensor(last_update_checks),
        ],
        schedules=build_schedules(refresh_jobs, nightly_job=all_assets_job, intraday_job=intraday_job),
        resources=resources,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
