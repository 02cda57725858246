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
    restricted_schema: str
    """LAUNDRY_RESTRICTED_SCHEMA: models with raw PII, never granted to analysts."""
    analyst_role: str
    """LAUNDRY_ANALYST_ROLE: read-only role for analysts."""
    analyst_password: str | None
    """LAUNDRY_ANALYST_PASSWORD: makes the analyst role a login role with this password;
    unset, it cannot log in except on the embedded server (Unix socket only)."""
    dbt_threads: int
    """LAUNDRY_DBT_THREADS: parallel dbt model builds."""
    query_max_days: int
    """LAUNDRY_QUERY_MAX_DAYS: longest date range the query API and CLI accept."""
    smtp_host: str | None
    """LAUNDRY_SMTP_HOST: SMTP server; unset means emails are written to the outbox."""
    smtp_port: int
    """LAUNDRY_SMTP_PORT: default 587 with STARTTLS, 465 with SSL, else 25."""
    smtp_security: str
    """LAUNDRY_SMTP_SECURITY: none, starttls or ssl."""
    smtp_user: str | None
    """LAUNDRY_SMTP_USER / LAUNDRY_SMTP_PASSWORD: SMTP login, if the server wants one."""
    smtp_password: str | None
    smtp_sender: str
    """LAUNDRY_SMTP_SENDER: the From address of reports and alerts."""
    smtp_attempts: int
    """LAUNDRY_SMTP_ATTEMPTS: tries per recipient on transient SMTP errors."""
    smtp_backoff_seconds: float
    """LAUNDRY_SMTP_BACKOFF_SECONDS: first retry delay, doubled on each further try."""
    report_max_bytes: int
    """LAUNDRY_REPORT_MAX_BYTES: attachment budget; larger files are zipped, then kept in the outbox."""
    recipient_domains: tuple[str, ...]
    """LAUNDRY_RECIPIENT_DOMAINS: comma-separated allowlist of recipient domains; empty allows any."""
    partitions_start: str
    """LAUNDRY_PARTITIONS_START: first day (YYYY-MM-DD, business time zone) of the daily
    partitions of the daily marts; set it on or before the first order date."""
    report_data_wait_minutes: int
    """LAUNDRY_REPORT_DATA_WAIT_MINUTES: how long a due report waits for its marts before it
    is sent with a "data incomplete" notice."""
    refresh_wait_minutes: float
    """LAUNDRY_REFRESH_WAIT_MINUTES: how long a Dagster dbt step waits for another refresh
    of the same warehouse to finish before it fails."""

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


def _default_smtp_port() -> int:
    return {"ssl": 465, "starttls": 587}.get(os.environ.get("LAUNDRY_SMTP_SECURITY", "none").lower(), 25)


def load() -> Settings:
    """Read the settings from the current environment."""
    return Settings(
        home=Path(os.environ.get("LAUNDRY_HOME") or _default_home()).resolve(),
        pg_dsn=os.environ.get("LAUNDRY_PG_DSN") or None,
        database=os.environ.get("LAUNDRY_PG_DATABASE", "laundry"),
        ops_schema=os.environ.get("LAUNDRY_OPS_SCHEMA", "ops"),
        analytics_schema=os.environ.get("LAUNDRY_ANALYTICS_SCHEMA", "analytics"),
        business_timezone=os.environ.get("LAUNDRY_BUSINESS_TIMEZONE", "UTC"),
        restricted_schema=os.environ.get("LAUNDRY_RESTRICTED_SCHEMA", "restricted"),
        analyst_role=os.environ.get("LAUNDRY_ANALYST_ROLE", "analyst"),
        analyst_password=os.environ.get("LAUNDRY_ANALYST_PASSWORD") or None,
        dbt_threads=int(os.environ.get("LAUNDRY_DBT_THREADS", "2")),
        query_max_days=int(os.environ.get("LAUNDRY_QUERY_MAX_DAYS", "731")),
        smtp_host=os.environ.get("LAUNDRY_SMTP_HOST") or None,
        smtp_port=int(os.environ.get("LAUNDRY_SMTP_PORT") or _default_smtp_port()),
        smtp_security=os.environ.get("LAUNDRY_SMTP_SECURITY", "none").lower(),
        smtp_user=os.environ.get("LAUNDRY_SMTP_USER") or None,
        smtp_password=os.environ.get("LAUNDRY_SMTP_PASSWORD") or None,
        smtp_sender=os.environ.get("LAUNDRY_SMTP_SENDER", "LaundryConnect Reports <reports@laundryconnect.example>"),
        smtp_attempts=int(os.environ.get("LAUNDRY_SMTP_ATTEMPTS", "4")),
        smtp_backoff_seconds=float(os.environ.get("LAUNDRY_SMTP_BACKOFF_SECONDS", "2")),
        report_max_bytes=int(os.environ.get("LAUNDRY_REPORT_MAX_BYTES", str(10 * 1024 * 1024))),
        recipient_domains=tuple(d.strip().lower() for d in os.environ.get("LAUNDRY_RECIPIENT_DOMAINS", "").split(",")
                                if d.strip()),
        partitions_start=os.environ.get("LAUNDRY_PARTITIONS_START", "2025-01-01"),
        report_data_wait_minutes=int(os.environ.get("LAUNDRY_REPORT_DATA_WAIT_MINUTES", "120")),
        refresh_wait_minutes=float(os.environ.get("LAUNDRY_REFRESH_WAIT_MINUTES", "60")),
    )
