"""How dbt nodes become Dagster assets: keys, groups and metadata."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import MetadataValue
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from laundry_analytics import settings as settings_module


class LaundryDbtTranslator(DagsterDbtTranslator):
    """Models keep their dbt name as key and are grouped by layer (staging,
    intermediate, marts); sources are keyed `ops/<table>` in group `ops`."""

    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                enable_source_tests_as_checks=True,
                enable_code_references=True,  # "View source" links to each model's SQL file
            )
        )

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "ops"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """dagster-dbt's metadata (columns, relation), plus a link to the node's page
        in the dbt docs site (LAUNDRY_DBT_DOCS_URL, default `dbt docs serve`'s)."""
        docs_url = settings_module.load().dbt_docs_url
        page = "source" if dbt_resource_props["resource_type"] == "source" else dbt_resource_props["resource_type"]
        return {
            **super().get_metadata(dbt_resource_props),
            "dbt_docs": MetadataValue.url(f"{docs_url}/#!/{page}/{dbt_resource_props['unique_id']}"),
        }
