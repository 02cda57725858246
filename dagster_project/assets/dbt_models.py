"""Every dbt model is a Dagster asset; every dbt test is an asset check."""

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.project import dbt_project, prepare_manifest
from dagster_project.translator import LaundryDbtTranslator


@dbt_assets(
    manifest=prepare_manifest(),
    project=dbt_project,
    dagster_dbt_translator=LaundryDbtTranslator(),
)
def laundry_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    """Build (run + test) the selected dbt models, streaming materializations and
    check results, with row counts and column schemas attached as metadata."""
    yield from dbt.cli(["build"], context=context).stream().fetch_row_counts().fetch_column_metadata()
