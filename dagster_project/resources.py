"""Resources, configured from the environment (never by editing code)."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from dagster_project.project import dbt_project
from laundry_analytics.database import ensure_database
from laundry_analytics.dbt_runner import dbt_executable


def build_resources() -> dict:
    """Resolve the warehouse once (starting the embedded server if that is the
    configuration) and hand its connection to dbt through PG* variables."""
    ensure_database()
    return {
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=dbt_project.profiles_dir,
            dbt_executable=dbt_executable(),
        )
    }
