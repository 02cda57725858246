"""Resources, configured from the environment (never by editing code): dbt, and
the warehouse every asset, check and sensor connects to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from dagster_dbt import DbtCliResource

from dagster_project.project import dbt_project
from laundry_analytics import database
from laundry_analytics.dbt_runner import dbt_executable


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse, wherever the settings put it (laundry_analytics.database:
    LAUNDRY_PG_DSN, the PG* variables or the embedded server)."""

    @contextmanager
    def connect(self, **kwargs) -> Iterator[psycopg.Connection]:
        """A new connection (psycopg.connect keyword arguments), closed on exit."""
        with database.connect(**kwargs) as conn:
            yield conn


def build_resources() -> dict:
    """Resolve the warehouse once (starting the embedded server if that is the
    configuration) and hand its connection to dbt through PG* variables."""
    database.ensure_database()
    return {
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=dbt_project.profiles_dir,
            dbt_executable=dbt_executable(),
        ),
        "warehouse": WarehouseResource(),
    }
