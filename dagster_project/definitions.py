"""The one `Definitions` of the code location (workspace.yaml points here)."""

from __future__ import annotations

from dagster import Definitions, define_asset_job

from dagster_project.assets.dbt_models import build_dbt_assets
from dagster_project.resources import build_resources


def build_definitions() -> Definitions:
    """Assemble the code location for the warehouse configured in the environment."""
    resources = build_resources()  # resolves the warehouse first: the manifest depends on it
    return Definitions(
        assets=[build_dbt_assets()],
        # Everything, in dependency order: what `laundry-analytics demo` runs.
        jobs=[define_asset_job("all_assets_job", selection="*")],
        resources=resources,
    )


defs = build_definitions()
