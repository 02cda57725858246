"""Configuration of the whole project, read from the environment in one place.

Every other module asks this one; no path, schema name or default is repeated
elsewhere. Values are read when `load()` is called, so tests and the CLI can set
environment variables first, and validated there: a wrong value is refused with
the variable's name and what to write instead (`SettingsError`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

from laundry_analytics.plain_text import parse_address

#: The repository root when the project is installed with `pip install -e .`.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_target_dir() -> Path:
    """dbt's target folder, where the manifest and each invocation's artifacts go:
    DBT_TARGET_PATH when set (relative to the dbt project, as dbt reads it), else
    `dbt_project/target`. dagster-dbt puts each invocation's folder under the same."""
    return DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")


#: The dates any command accepts: every range, default window and previous-period
#: comparison computed from them stays a valid date (Python's go from year 1 to 9999).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
SMTP_SECURITY_MODES = ("none", "starttls", "ssl")
#: libpq's own variables, used when LAUNDRY_PG_DSN is unset and PGHOST is set.
LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
#: Variables read besides the LAUNDRY_* ones.
_OTHER_VARIABLES = (*LIBPQ_VARIABLES, "DAGSTER_HOME", "USER")


class SettingsError(ValueError):
    """An environment variable with a value the project cannot use."""


def parse_iso_date(text: str) -> dt.date:
    """A calendar date written exactly YYYY-MM-DD between EARLIEST_DATE and LATEST_DATE,
    else ValueError saying so. (`date.fromisoformat` alone also takes 20260101 and
    2026-W01-1, which nobody means as a report date.)"""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(f"{text!r} is not a date; write it as YYYY-MM-DD")
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date; write it as YYYY-MM-DD") from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"{text} is outside {EARLIEST_DATE}..{LATEST_DATE}; give a date in that range")
    return value


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
    delivery_claim_timeout_minutes: float
    """LAUNDRY_DELIVERY_CLAIM_TIMEOUT_MINUTES: a delivery claimed this long ago by a run that
    never recorded its outcome (the run died) is relaunched by the report sensor."""
    delivery_retry_minutes: float
    """LAUNDRY_DELIVERY_RETRY_MINUTES: first wait before a transient delivery failure is
    retried; each later wait is as long as the delivery has been delayed so far (doubling)."""
    delivery_deadline_hours: float
    """LAUNDRY_DELIVERY_DEADLINE_HOURS: how long after its first attempt a report or alert is
    still retried; then it is recorded as failed (and alerted)."""
    freshness_lag_minutes: int
    """LAUNDRY_FRESHNESS_LAG_MINUTES: the source freshness check passes while the newest
    ops.orders row is at most this old."""
    anomaly_threshold: float
    """LAUNDRY_ANOMALY_THRESHOLD: robust z-score beyond which the latest complete day's
    revenue or order count is flagged by the anomaly check."""
    alert_recipients: tuple[str, ...]
    """LAUNDRY_ALERT_RECIPIENTS: comma-separated addresses of the data team, who get one
    email per failed Dagster run (within LAUNDRY_RECIPIENT_DOMAINS when that is set)."""
    dagster_url: str
    """LAUNDRY_DAGSTER_URL: base URL of the Dagster UI, for the run link in failure alerts."""
    dbt_docs_url: str
    """LAUNDRY_DBT_DOCS_URL: base URL of the dbt docs site, linked from every dbt asset."""
    outbox_override: Path | None
    """LAUNDRY_OUTBOX: where emails are written when no SMTP server is set; unset means
    `outbox/` under LAUNDRY_HOME (the `outbox` property)."""
    dagster_home_override: Path | None
    """DAGSTER_HOME: Dagster's storage; unset means `dagster_home/` under LAUNDRY_HOME."""
    libpq: dict[str, str]
    """The libpq variables that are set (LIBPQ_VARIABLES): PGHOST, PGPORT, PGUSER,
    PGPASSWORD, PGDATABASE."""
    user: str
    """USER: who the command line records as the creator of a report schedule (default "cli")."""
    refresh_wait_minutes: float
    """LAUNDRY_REFRESH_WAIT_MINUTES: how long a Dagster dbt step waits for another refresh
    of the same warehouse to finish before it fails."""
    intraday_minutes: int
    """LAUNDRY_INTRADAY_MINUTES: how often the intraday refresh (intraday_refresh_schedule)
    brings the marts and the cache up to the latest committed ops rows."""
    max_data_lag_minutes: int
    """LAUNDRY_MAX_DATA_LAG_MINUTES: a cached payload (and a mart, in the Dagster UI's
    freshness checks) whose data_as_of is older than this is stale, even before its
    cache row expires."""
    currency: str
    """LAUNDRY_CURRENCY: ISO 4217 code of the money amounts (the marts store amounts, not
    their currency), shown by reports beside every amount."""

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dagster_home(self) -> Path:
        return self.dagster_home_override or self.home / "dagster_home"

    @property
    def logs(self) -> Path:
        """Where `demo` and `materialize` write the full dbt and Dagster log of each run."""
        return self.home / "logs"

    @property
    def outbox(self) -> Path:
        return self.outbox_override or self.home / "outbox"

    @property
    def outbox_variable(self) -> str:
        """The variable that says where the outbox is (LAUNDRY_OUTBOX or LAUNDRY_HOME)."""
        return "LAUNDRY_OUTBOX" if self.outbox_override else "LAUNDRY_HOME"

    @property
    def uses_embedded_server(self) -> bool:
        return not self.pg_dsn and not self.libpq.get("PGHOST")


def _default_smtp_port(env: dict) -> int:
    return {"ssl": 465, "starttls": 587}.get(env.get("LAUNDRY_SMTP_SECURITY", "none").strip().lower(), 25)


def load() -> Settings:
    """The settings of the current environment, validated (SettingsError names the
    variable to fix). Cached per environment: it is called on every query."""
    snapshot = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("LAUNDRY_") or k in _OTHER_VARIABLES))
    return _load(snapshot, os.getcwd())


@functools.lru_cache(maxsize=16)
def _load(snapshot: tuple[tuple[str, str], ...], cwd: str) -> Settings:  # cwd: relative LAUNDRY_HOME, _default_home
    env = dict(snapshot)
    return Settings(
        home=Path(env.get("LAUNDRY_HOME") or _default_home()).resolve(),
        pg_dsn=_dsn(env.get("LAUNDRY_PG_DSN") or None),
        database=env.get("LAUNDRY_PG_DATABASE", "laundry"),
        ops_schema=env.get("LAUNDRY_OPS_SCHEMA", "ops"),
        analytics_schema=env.get("LAUNDRY_ANALYTICS_SCHEMA", "analytics"),
        business_timezone=_timezone(env, "LAUNDRY_BUSINESS_TIMEZONE", "UTC"),
        restricted_schema=env.get("LAUNDRY_RESTRICTED_SCHEMA", "restricted"),
        analyst_role=env.get("LAUNDRY_ANALYST_ROLE", "analyst"),
        analyst_password=env.get("LAUNDRY_ANALYST_PASSWORD") or None,
        dbt_threads=_number(env, "LAUNDRY_DBT_THREADS", 2, 1, 64),
        query_max_days=_number(env, "LAUNDRY_QUERY_MAX_DAYS", 731, 1, 36_600),
        smtp_host=env.get("LAUNDRY_SMTP_HOST") or None,
        smtp_port=_number(env, "LAUNDRY_SMTP_PORT", _default_smtp_port(env), 1, 65_535),
        smtp_security=_choice(env, "LAUNDRY_SMTP_SECURITY", "none", SMTP_SECURITY_MODES),
        smtp_user=env.get("LAUNDRY_SMTP_USER") or None,
        smtp_password=env.get("LAUNDRY_SMTP_PASSWORD") or None,
        smtp_sender=env.get("LAUNDRY_SMTP_SENDER", "LaundryConnect Reports <reports@laundryconnect.example>"),
        smtp_attempts=_number(env, "LAUNDRY_SMTP_ATTEMPTS", 4, 1, 20),
        smtp_backoff_seconds=_number(env, "LAUNDRY_SMTP_BACKOFF_SECONDS", 2.0, 0, 3600, kind=float),
        report_max_bytes=_number(env, "LAUNDRY_REPORT_MAX_BYTES", 10 * 1024 * 1024, 1, 1024**3),
        recipient_domains=_domains(env),
        partitions_start=_date(env, "LAUNDRY_PARTITIONS_START", "2025-01-01"),
        report_data_wait_minutes=_number(env, "LAUNDRY_REPORT_DATA_WAIT_MINUTES", 120, 0, 7 * 24 * 60),
        delivery_claim_timeout_minutes=_number(
            env, "LAUNDRY_DELIVERY_CLAIM_TIMEOUT_MINUTES", 10.0, 0.1, 24 * 60, kind=float
        ),
        delivery_retry_minutes=_number(env, "LAUNDRY_DELIVERY_RETRY_MINUTES", 5.0, 0.01, 24 * 60, kind=float),
        delivery_deadline_hours=_number(env, "LAUNDRY_DELIVERY_DEADLINE_HOURS", 24.0, 0.01, 24 * 30, kind=float),
        freshness_lag_minutes=_number(env, "LAUNDRY_FRESHNESS_LAG_MINUTES", 360, 1, 366 * 24 * 60),
        anomaly_threshold=_number(env, "LAUNDRY_ANOMALY_THRESHOLD", 3.5, 0.1, 1000, kind=float),
        alert_recipients=_addresses(env, "LAUNDRY_ALERT_RECIPIENTS", "data-team@laundryconnect.example"),
        dagster_url=_url(env, "LAUNDRY_DAGSTER_URL", "http://127.0.0.1:3000"),
        dbt_docs_url=_url(env, "LAUNDRY_DBT_DOCS_URL", "http://localhost:8080"),
        outbox_override=Path(env["LAUNDRY_OUTBOX"]) if env.get("LAUNDRY_OUTBOX") else None,
        dagster_home_override=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
        libpq={name: env[name] for name in LIBPQ_VARIABLES if env.get(name)},
        user=env.get("USER") or "cli",
        refresh_wait_minutes=_number(env, "LAUNDRY_REFRESH_WAIT_MINUTES", 60.0, 0, 24 * 60, kind=float),
        intraday_minutes=_number(env, "LAUNDRY_INTRADAY_MINUTES", 5, 1, 59),
        max_data_lag_minutes=_number(env, "LAUNDRY_MAX_DATA_LAG_MINUTES", 15, 1, 7 * 24 * 60),
        currency=_currency(env, "LAUNDRY_CURRENCY", "EUR"),
    )


# --- validation of one variable each --------------------------------------------------


def _number(env: dict, name: str, default, low, high, *, kind=int):
    text = env.get(name, "").strip()
    if not text:  # unset or empty: the default, as for every other variable
        return default
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(text)
    except ValueError:
        raise SettingsError(f"{name} must be {what} from {low} to {high}, got {text!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise SettingsError(f"{name} must be {what} from {low} to {high}, got {text!r}")
    return value


def _choice(env: dict, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {env[name]!r}")
    return value


def _currency(env: dict, name: str, default: str) -> str:
    value = env.get(name, "").strip().upper() or default
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise SettingsError(
            f"{name} must be an ISO 4217 currency code of three letters such as EUR or USD, got {env[name]!r}"
        )
    return value


def _timezone(env: dict, name: str, default: str) -> str:
    value = env.get(name) or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, e.g. 'America'
        raise SettingsError(f"{name} must be an IANA time zone such as Europe/Lisbon or UTC, got {value!r}") from None
    return value


def _date(env: dict, name: str, default: str) -> str:
    value = env.get(name) or default
    try:
        parse_iso_date(value)
    except ValueError:
        raise SettingsError(
            f"{name} must be a date as YYYY-MM-DD from {EARLIEST_DATE} to {LATEST_DATE}, got {value!r}"
        ) from None
    return value


def _domains(env: dict) -> tuple[str, ...]:
    return tuple(d.strip().lower() for d in env.get("LAUNDRY_RECIPIENT_DOMAINS", "").split(",") if d.strip())


def _addresses(env: dict, name: str, default: str) -> tuple[str, ...]:
    try:
        return tuple(parse_address(item, _domains(env)) for item in env.get(name, default).split(",") if item.strip())
    except ValueError as error:
        raise SettingsError(f"{name} must be comma-separated email addresses: {error}") from None


def _url(env: dict, name: str, default: str) -> str:
    value = env.get(name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise SettingsError(f"{name} must be an http(s) URL such as {default}, got {value!r}")
    return value.rstrip("/")


def _dsn(value: str | None) -> str | None:
    """The DSN if libpq can read it and its port is a number; the server itself is
    only reached (and its errors reported) when a command connects."""
    if value is None:
        return None
    hint = "e.g. 'host=127.0.0.1 port=5432 user=postgres dbname=laundry'"
    try:
        params = conninfo_to_dict(value)
    except ProgrammingError as error:
        raise SettingsError(
            f"LAUNDRY_PG_DSN is not a libpq connection string ({str(error).strip()}); write it as {hint}"
        ) from None
    port = str(params.get("port") or "5432")
    if not (re.fullmatch(r"[0-9]{1,5}", port) and 1 <= int(port) <= 65_535):  # one server: the project connects to one
        raise SettingsError(f"LAUNDRY_PG_DSN has port {port!r}, which is not a port number 1-65535; write it as {hint}")
    return value
