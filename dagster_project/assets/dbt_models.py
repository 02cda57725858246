"""Every dbt model is a Dagster asset; every dbt test is an asset check."""

import json

from dagster import AssetExecutionContext, AssetsDefinition
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.project import dbt_project, prepare_manifest
from dagster_project.translator import LaundryDbtTranslator


def build_dbt_assets() -> AssetsDefinition:
    """The dbt models as assets, from a manifest prepared for the current environment."""

    # The parsed dict, not the path: dagster-dbt caches manifests read by path, and
    # a manifest re-parsed for another warehouse must not be served from that cache.
    manifest = json.loads(prepare_manifest().read_text())

    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=LaundryDbtTranslator(),
    )
    def laundry_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
        """Build (run + test) the selected dbt models, streaming materializations and
        check results, with row counts and column schemas attached as metadata."""
        yield from dbt.cli(["build"], context=context).stream().fetch_row_counts().fetch_column_metadata()

    return laundry_dbt_models
