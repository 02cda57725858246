"""The operational source tables (dbt sources, schema `ops`) as external assets:
group `sources`, the table's description and its typed columns from the source
YAML (dbt_project/models/staging/ops/_ops__sources.yml), upstream of the staging
models in the lineage. Dagster does not build them; their freshness is a check
(dagster_project.checks) and their dbt source tests are checks too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSpec

from dagster_project.translator import LaundryDbtTranslator


def build_source_specs(manifest: Mapping[str, Any]) -> list[AssetSpec]:
    translator = LaundryDbtTranslator()
    specs = []
    for unique_id in sorted(manifest["sources"]):
        spec = translator.get_asset_spec(manifest, unique_id, None)
        source = manifest["sources"][unique_id]
        specs.append(
            AssetSpec(
                key=spec.key,
                group_name=spec.group_name,
                description=f"{source['description'].strip()}\n\nSource table `{source['schema']}.{source['name']}` of "
                f"the operational database: read by dbt, never written by this project.",
                # dagster-dbt's bookkeeping (manifest, translator) is for the dbt assets only.
                metadata={key: value for key, value in spec.metadata.items() if not key.startswith("dagster_dbt/")},
                kinds={"postgres"},
            )
        )
    return specs
