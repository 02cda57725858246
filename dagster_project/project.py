"""The dbt project as Dagster sees it, and the manifest it is loaded from.

The manifest is prepared at load time: `dbt parse` runs when `target/manifest.json`
is missing or older than any file of the dbt project, so `dagster dev`, `dagster
asset materialize` and the tests always load the models as they are on disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dagster_dbt import DbtProject

from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

_SOURCE_SUFFIXES = {".sql", ".yml", ".yaml", ".md", ".csv"}

#: Environment baked into the manifest at parse time (relation names carry the
#: database; schemas and the time zone come from env): a change means re-parse.
_PARSE_ENVIRONMENT = ("PGDATABASE", "LAUNDRY_OPS_SCHEMA", "LAUNDRY_ANALYTICS_SCHEMA",
                      "LAUNDRY_BUSINESS_TIMEZONE", "LAUNDRY_ANALYST_ROLE")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for path in project_dir.rglob("*"):
        if path.suffix in _SOURCE_SUFFIXES and not {"target", "logs", "dbt_packages"} & set(
            path.relative_to(project_dir).parts
        ):
            newest = max(newest, path.stat().st_mtime)
    return newest


def prepare_manifest() -> Path:
    """Make sure `manifest.json` reflects the dbt project on disk and the current
    warehouse environment; return its path. Call after `ensure_database()`."""
    manifest = dbt_project.manifest_path
    stamp = manifest.with_name("manifest.env.json")
    environment = json.dumps({key: os.environ.get(key) for key in _PARSE_ENVIRONMENT}, sort_keys=True)
    stale = (
        not manifest.exists()
        or manifest.stat().st_mtime < _newest_source_mtime(dbt_project.project_dir)
        or not stamp.exists()
        or stamp.read_text() != environment
    )
    if stale:
        # Not dbt_project.preparer: it looks for `dbt` on PATH, and a venv's bin
        # folder need not be there.
        run_dbt(["parse", "--quiet", "--no-partial-parse"], capture=True)
        stamp.write_text(environment)
    return manifest
