"""`analytics_cache`: the dashboard payloads, precomputed for their default window.

One row per cache key (`<type>:default`, the last 30 days up to today), written
by calling the query API (laundry_analytics.analytics), so a cached payload and
one computed on demand are the same code. Refreshing a type replaces its rows in
one transaction: readers see the old payload or the new one, never a gap.
`cleanup()` deletes expired rows; `get()` tells fresh from stale.

A payload is fresh while its row has not expired (its TTL) and its figures are
recent: `data_as_of` (the instant up to which ops changes are in the marts it
read, laundry_analytics.freshness) lags at most LAUNDRY_MAX_DATA_LAG_MINUTES. A
cache recomputed every five minutes from marts rebuilt last night is stale.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from laundry_analytics import analytics_schema, database, freshness, settings
from laundry_analytics.analytics import registry
from laundry_analytics.analytics.arithmetic import to_jsonable
from laundry_analytics.durations import duration_text

_DDL = """
create table if not exists {table} (
    cache_key text primary key,
    cache_type text not null check (cache_type in ({types})),
    data jsonb not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    check (expires_at > created_at)
);
create index if not exists analytics_cache_expires_at_idx on {table} (expires_at);
create index if not exists analytics_cache_type_idx on {table} (cache_type);
"""


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    cache_type: str
    data: dict
    created_at: dt.datetime
    expires_at: dt.datetime
    is_unexpired: bool
    """False once expires_at has passed."""

    @property
    def data_as_of(self) -> dt.datetime | None:
        """The instant up to which ops changes are reflected in the payload's figures."""
        value = self.data.get("data_as_of")
        return dt.datetime.fromisoformat(value) if value else None

    @property
    def lag(self) -> dt.timedelta | None:
        """How far the figures are behind now; None when unknown."""
        return freshness.lag(self.data_as_of)

    @property
    def stale_reason(self) -> str | None:
        """Why the payload may be out of date (expired, or its data lags), or None."""
        if not self.is_unexpired:
            return f"the {self.cache_type} payload expired at {self.expires_at:%Y-%m-%d %H:%M:%S %Z}"
        lag, limit_minutes = self.lag, settings.load().max_data_lag_minutes
        if lag is None:
            return f"the {self.cache_type} payload does not say how fresh its marts are (build them again)"
        if lag > dt.timedelta(minutes=limit_minutes):
            return (
                f"the {self.cache_type} payload's data is {duration_text(lag)} old (data_as_of "
                f"{self.data_as_of:%Y-%m-%d %H:%M:%S %Z}), more than LAUNDRY_MAX_DATA_LAG_MINUTES={limit_minutes}"
            )
        return None

    @property
    def is_fresh(self) -> bool:
        """Unexpired and its data lags at most LAUNDRY_MAX_DATA_LAG_MINUTES."""
        return self.stale_reason is None


def cache_types() -> tuple[str, ...]:
    """Every payload type is a cache type (laundry_analytics.analytics.registry)."""
    return registry.payload_types()


def ttl(cache_type: str) -> dt.timedelta:
    """How long a cached payload of `cache_type` stays fresh (the original system's TTLs)."""
    _check_type(cache_type)
    return registry.get(cache_type).cache_ttl


def default_key(cache_type: str) -> str:
    return f"{cache_type}:default"


def _table() -> sql.Composed:
    return analytics_schema.compose("{a}.analytics_cache")


def ensure_table(conn: psycopg.Connection) -> None:
    """Create analytics.analytics_cache if missing, readable by the analyst role,
    with a cache_type constraint allowing exactly the registered types (once per
    process, database and list of types)."""
    types = cache_types()

    def create(c: psycopg.Connection) -> None:
        c.execute(sql.SQL(_DDL).format(table=_table(), types=sql.SQL(", ").join(map(sql.Literal, types))))
        analytics_schema.sync_allowed_values(c, "analytics_cache", "cache_type", types)
        analytics_schema.grant_to_analysts(c, "analytics_cache")

    analytics_schema.ensure(conn, "analytics_cache", create, version=types)


def _check_type(cache_type: str) -> None:
    if cache_type not in cache_types():
        raise ValueError(f"unknown cache type {cache_type!r}: choose one of {', '.join(cache_types())}")


def refresh(cache_type: str, *, as_of: dt.date | None = None, conn: psycopg.Connection | None = None) -> CacheEntry:
    """Recompute the default payload of `cache_type` and replace that type's rows
    atomically. Returns the new entry."""
    _check_type(cache_type)
    with database.borrowed(conn) as c:
        ensure_table(c)
        data = to_jsonable(registry.payload(cache_type, end=as_of, conn=c))
        with c.transaction():
            c.execute(
                sql.SQL("delete from {} where cache_type = %s and cache_key <> %s").format(_table()),
                (cache_type, default_key(cache_type)),
            )
            row = c.execute(
                sql.SQL("""
                insert into {} (cache_key, cache_type, data, created_at, expires_at)
                values (%s, %s, %s, now(), now() + %s)
                on conflict (cache_key) do update
                    set data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at
                returning cache_key, cache_type, data, created_at, expires_at, true
            """).format(_table()),
                (default_key(cache_type), cache_type, Jsonb(data), ttl(cache_type)),
            ).fetchone()
        c.commit()
    return CacheEntry(*row)


def get(cache_type: str, *, conn: psycopg.Connection | None = None) -> CacheEntry | None:
    """The cached default payload of `cache_type`, fresh or stale; None if absent."""
    _check_type(cache_type)
    with database.borrowed(conn) as c:
        try:
            row = c.execute(
                sql.SQL("""
                select cache_key, cache_type, data, created_at, expires_at, expires_at > now()
                from {} where cache_key = %s
            """).format(_table()),
                (default_key(cache_type),),
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            c.rollback()
            return None
    return CacheEntry(*row) if row else None


def cleanup(*, conn: psycopg.Connection | None = None) -> int:
    """Delete expired rows; returns how many."""
    with database.borrowed(conn) as c:
        ensure_table(c)
        deleted = c.execute(sql.SQL("delete from {} where expires_at <= now()").format(_table())).rowcount
        c.commit()
    return deleted


def dumps(entry: CacheEntry) -> str:
    """The entry as the JSON a dashboard reads: the payload plus its freshness."""
    lag = entry.lag
    return json.dumps(
        {
            "cache_key": entry.cache_key,
            "cache_type": entry.cache_type,
            "created_at": entry.created_at.isoformat(),
            "expires_at": entry.expires_at.isoformat(),
            "data_as_of": entry.data.get("data_as_of"),
            "lag_seconds": None if lag is None else round(lag.total_seconds(), 1),
            "is_fresh": entry.is_fresh,
            "stale_reason": entry.stale_reason,
            "data": entry.data,
        },
        indent=2,
    )
