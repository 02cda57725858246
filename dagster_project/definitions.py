"""The one `Definitions` of the code location (workspace.yaml points here)."""

from __future__ import annotations

from dagster import Definitions, define_asset_job

from dagster_project.assets.dbt_models import laundry_dbt_models
from dagster_project.resources import build_resources

#: Everything, in dependency order: what `laundry-analytics demo` runs.
all_assets_job = define_asset_job("all_assets_job", selection="*")

defs = Definitions(
    assets=[laundry_dbt_models],
    jobs=[all_assets_job],
    resources=build_resources(),
)
