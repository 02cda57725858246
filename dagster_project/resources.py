"""Resources, configured from the environment (never by editing code)."""

from __future__ import annotations

import os

from dagster_dbt import DbtCliResource

from dagster_project.project import dbt_project
from laundry_analytics.database import ensure_database
from laundry_analytics.dbt_runner import dbt_executable


def build_resources() -> dict:
    """Resolve the warehouse once (starting the embedded server if that is the
    configuration) and hand its connection to dbt through PG* variables."""
    ensure_database()
    # A subset run (one asset, a backfill of some marts) must not run the singular
    # tests that read marts outside the subset (the reconciliation tests): dbt's
    # "buildable" indirect selection runs a test only when all its parents are built.
    os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")
    return {
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=dbt_project.profiles_dir,
            dbt_executable=dbt_executable(),
        )
    }
