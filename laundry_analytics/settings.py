"""Configuration of the whole project, read from the environment in one place.

Every other module asks this one; no path, schema name or default is repeated
elsewhere. Values are read when `load()` is called, so tests and the CLI can set
environment variables first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The repository root when the project is installed with `pip install -e .`.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def _default_home() -> Path:
    # An editable install keeps its data beside the code (ignored by git); an
    # installed wheel has no writable checkout, so it uses the working directory.
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / ".laundry"
    return Path.cwd() / ".laundry"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with its environment variable and default."""

    home: Path
    """LAUNDRY_HOME: data folder for the embedded server, Dagster and the outbox."""
    pg_dsn: str | None
    """LAUNDRY_PG_DSN: libpq DSN/URI of the warehouse; unset means PG* vars or embedded."""
    database: str
    """LAUNDRY_PG_DATABASE: database created and used on the embedded server."""
    ops_schema: str
    """LAUNDRY_OPS_SCHEMA: schema of the operational source tables."""
    analytics_schema: str
    """LAUNDRY_ANALYTICS_SCHEMA: schema of the marts analysts query."""
    business_timezone: str
    """LAUNDRY_BUSINESS_TIMEZONE: IANA zone that defines local dates and hours."""
    analyst_role: str
    """LAUNDRY_ANALYST_ROLE: read-only role for analysts."""
    dbt_threads: int
    """LAUNDRY_DBT_THREADS: parallel dbt model builds."""
    query_max_days: int
    """LAUNDRY_QUERY_MAX_DAYS: longest date range the query API and CLI accept."""

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.home / "dagster_home")

    @property
    def outbox(self) -> Path:
        return Path(os.environ.get("LAUNDRY_OUTBOX") or self.home / "outbox")

    @property
    def uses_embedded_server(self) -> bool:
        return not self.pg_dsn and not os.environ.get("PGHOST")


def load() -> Settings:
    """Read the settings from the current environment."""
    return Settings(
        home=Path(os.environ.get("LAUNDRY_HOME") or _default_home()).resolve(),
        pg_dsn=os.environ.get("LAUNDRY_PG_DSN") or None,
        database=os.environ.get("LAUNDRY_PG_DATABASE", "laundry"),
        ops_schema=os.environ.get("LAUNDRY_OPS_SCHEMA", "ops"),
        analytics_schema=os.environ.get("LAUNDRY_ANALYTICS_SCHEMA", "analytics"),
        business_timezone=os.environ.get("LAUNDRY_BUSINESS_TIMEZONE", "UTC"),
        analyst_role=os.environ.get("LAUNDRY_ANALYST_ROLE", "analyst"),
        dbt_threads=int(os.environ.get("LAUNDRY_DBT_THREADS", "2")),
        query_max_days=int(os.environ.get("LAUNDRY_QUERY_MAX_DAYS", "731")),
    )
