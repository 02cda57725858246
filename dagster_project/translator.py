"""How dbt nodes become Dagster assets and asset checks: keys, groups, descriptions
and metadata."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetSpec,
    BetaWarning,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    MetadataValue,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from laundry_analytics import settings as settings_module
from laundry_analytics.settings import DBT_PROJECT_DIR

#: The group of the operational source tables (dbt sources, keyed `ops/<table>`).
SOURCES_GROUP = "sources"

#: What a generic dbt test asserts, in words, for a check whose test YAML has no
#: `description:` of its own; filled with the test's arguments.
GENERIC_TEST_SENTENCES = {
    "unique": "No two rows have the same {column}.",
    "not_null": "{column} is never NULL.",
    "accepted_values": "{column} is one of: {values}.",
    "relationships": "Every non-NULL {column} exists as {field} in {to}.",
    "accepted_range": "{column} lies within {range} (NULLs pass).",
    "unique_combination": "No two rows have the same ({columns}).",
}


class LaundryDbtTranslator(DagsterDbtTranslator):
    """Models keep their dbt name as key and are grouped by layer (staging,
    intermediate, marts); sources are keyed `ops/<table>` in group `sources`.

    Descriptions come from the dbt YAML: a model's or source's `description:`,
    a test's `description:` for its asset check (else a sentence made from the
    generic test and its arguments, as written in the YAML)."""

    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                enable_source_tests_as_checks=True,
                # "View source" links are added by get_metadata below: dagster-dbt's own
                # need the DbtProject on every asset, which the UI shows as
                # "[DbtProject] (unserializable)".
                enable_code_references=False,
            )
        )

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return SOURCES_GROUP
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """dagster-dbt's metadata (columns, relation), a link to the node's page in
        the dbt docs site (LAUNDRY_DBT_DOCS_URL, default `dbt docs serve`'s) and a
        code reference to its SQL (a source: its YAML) file."""
        docs_url = settings_module.load().dbt_docs_url
        page = "source" if dbt_resource_props["resource_type"] == "source" else dbt_resource_props["resource_type"]
        metadata = {
            **super().get_metadata(dbt_resource_props),
            "dbt_docs": MetadataValue.url(f"{docs_url}/#!/{page}/{dbt_resource_props['unique_id']}"),
        }
        if dbt_resource_props.get("original_file_path"):
            path = (DBT_PROJECT_DIR / dbt_resource_props["original_file_path"]).resolve()
            with warnings.catch_warnings():  # beta classes, the ones dagster-dbt itself uses for this link
                warnings.simplefilter("ignore", BetaWarning)
                metadata["dagster/code_references"] = CodeReferencesMetadataValue(
                    code_references=[LocalFileCodeReference(file_path=str(path))]
                )
        return metadata

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"][unique_id]
        return spec._replace(description=test_description(test))


def test_description(test: Mapping[str, Any]) -> str:
    """A dbt test's description: its YAML `description:`, else what its generic
    test asserts with its arguments, else its name."""
    if test.get("description"):
        return test["description"].strip()
    metadata = test.get("test_metadata") or {}
    sentence = GENERIC_TEST_SENTENCES.get(metadata.get("name", ""))
    if sentence is None:
        return f"dbt test {test['name']}."
    kwargs = metadata.get("kwargs", {})
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    described = sentence.format(
        column=f"`{kwargs.get('column_name') or test.get('column_name')}`",
        values=", ".join(f"`{v}`" for v in kwargs.get("values", [])),
        field=f"`{kwargs.get('field')}`",
        to=_relation_name(kwargs.get("to", "")),
        range=f"[{'−∞' if low is None else low}, {'∞' if high is None else high}]",
        columns=", ".join(f"`{c}`" for c in kwargs.get("columns", [])),
    )
    severity = (test.get("config", {}).get("severity") or "error").lower()
    return described + (" A warning: it never blocks." if severity == "warn" else "")


def _relation_name(ref: str) -> str:
    """`ref('stg_ops__users')` -> `stg_ops__users`; `source('ops', 'users')` -> `ops.users`."""
    names = re.findall(r"'([^']+)'", ref)
    return f"`{'.'.join(names)}`" if names else ref
