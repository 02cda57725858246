"""Asset checks beyond the dbt tests: orders arriving in the source (freshness),
an anomaly check on the latest complete day's revenue and order count, and how
fresh the marts and the cache are (data_as_of within LAUNDRY_MAX_DATA_LAG_MINUTES,
cache rows unexpired), so a lagging or expired asset does not show green."""

import datetime as dt
import statistics

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    DefaultSensorStatus,
    MetadataValue,
    SensorDefinition,
    asset_check,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)
from psycopg import sql

from dagster_project.metadata import duration_text
from dagster_project.resources import WarehouseResource
from laundry_analytics import cache, freshness
from laundry_analytics import settings as settings_module
from laundry_analytics.analytics import registry
from laundry_analytics.analytics_schema import compose

ANOMALY_WEEKS = 8


def freshness_lag() -> dt.timedelta:
    """LAUNDRY_FRESHNESS_LAG_MINUTES: the newest order may be at most this old."""
    return dt.timedelta(minutes=settings_module.load().freshness_lag_minutes)


def anomaly_threshold() -> float:
    """LAUNDRY_ANOMALY_THRESHOLD: robust z-score beyond which a day is anomalous."""
    return settings_module.load().anomaly_threshold


@asset_check(
    asset=AssetKey(["ops", "orders"]),
    name="orders_arrive_within_lag",
    description="The newest ops.orders row is at most LAUNDRY_FRESHNESS_LAG_MINUTES old.",
    blocking=False,
)
def orders_arrive_within_lag(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    cfg = settings_module.load()
    with warehouse.connect() as conn:
        newest, now = conn.execute(
            sql.SQL("select max(created_at), now() from {}.orders").format(sql.Identifier(cfg.ops_schema))
        ).fetchone()
    lag = freshness_lag()
    age = (now - newest) if newest else None
    return AssetCheckResult(
        passed=age is not None and age <= lag,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "newest_order_at": MetadataValue.timestamp(newest) if newest else None,
            "age": duration_text(age) if age is not None else None,
            "allowed_lag": duration_text(lag),
        },
    )


def robust_z(value: float, history: list[float]) -> float | None:
    """0.6745 × (value − median) / MAD; None when the history is too short or flat."""
    if len(history) < 4:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    if mad == 0:
        return None if value == median else float("inf") * (1 if value > median else -1)
    return 0.6745 * (value - median) / mad


@asset_check(
    asset=AssetKey(["analytics", "daily_revenue_summaries"]),
    name="latest_day_is_not_anomalous",
    description="Revenue and orders of the latest complete day vs the same weekday over the previous "
    f"{ANOMALY_WEEKS} weeks (robust z-score; LAUNDRY_ANOMALY_THRESHOLD). A warning, never "
    "blocking: a real spike is news, not an error.",
    blocking=False,
)
def latest_day_is_not_anomalous(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    with warehouse.connect() as conn:
        rows = conn.execute(
            compose("""
            with latest as (select max(date) - 1 as day from {a}.daily_revenue_summaries)
            select d.date, d.total_revenue, d.total_orders
            from {a}.daily_revenue_summaries d, latest
            where d.date <= latest.day and d.date >= latest.day - 7 * %s and extract(isodow from d.date) =
                  extract(isodow from latest.day)
            order by d.date desc
        """),
            (ANOMALY_WEEKS,),
        ).fetchall()
    if not rows:
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN, metadata={"note": "no data yet"})
    (day, revenue, orders), history = rows[0], rows[1:]
    threshold = anomaly_threshold()
    scores = {
        "revenue": robust_z(float(revenue), [float(r[1]) for r in history]),
        "orders": robust_z(float(orders), [float(r[2]) for r in history]),
    }
    anomalous = [name for name, z in scores.items() if z is not None and abs(z) > threshold]
    return AssetCheckResult(
        passed=not anomalous,
        severity=AssetCheckSeverity.WARN,
        description=f"{day}: {', '.join(anomalous) or 'nothing'} outside ±{threshold} robust z",
        metadata={
            "day": str(day),
            "revenue": float(revenue),
            "orders": int(orders),
            "revenue_z": None if scores["revenue"] is None else round(scores["revenue"], 2),
            "orders_z": None if scores["orders"] is None else round(scores["orders"], 2),
            "history_revenue": [float(r[1]) for r in history],
            "history_orders": [int(r[2]) for r in history],
            "threshold": threshold,
        },
    )


def max_data_lag() -> dt.timedelta:
    return dt.timedelta(minutes=settings_module.load().max_data_lag_minutes)


def _mart_data_within_lag(mart: str) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey([settings_module.load().analytics_schema, mart]),
        name="data_within_lag",
        description=f"{mart} reflects ops changes up to at most LAUNDRY_MAX_DATA_LAG_MINUTES ago "
        "(its data_as_of in analytics.mart_refreshes).",
        blocking=False,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.connect() as conn:
            as_of = freshness.data_as_of([mart], conn)
        lag = freshness.lag(as_of)
        return AssetCheckResult(
            passed=lag is not None and lag <= max_data_lag(),
            severity=AssetCheckSeverity.WARN,
            metadata={
                "data_as_of": MetadataValue.timestamp(as_of) if as_of else "unknown",
                "lag": duration_text(lag) if lag is not None else "unknown",
                "allowed_lag": duration_text(max_data_lag()),
            },
        )

    return _check


def _cache_is_fresh(cache_type: str) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(["analytics_cache", cache_type]),
        name="payload_is_fresh",
        description=f"The cached {cache_type} payload has not expired and its data_as_of lags at most "
        "LAUNDRY_MAX_DATA_LAG_MINUTES.",
        blocking=False,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.connect() as conn:
            entry = cache.get(cache_type, conn=conn)
        if entry is None:
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.WARN,
                description=f"no {cache_type} payload in analytics_cache",
            )
        return AssetCheckResult(
            passed=entry.is_fresh,
            severity=AssetCheckSeverity.WARN,
            description=entry.stale_reason,
            metadata={
                "data_as_of": entry.data.get("data_as_of") or "unknown",
                "lag": duration_text(entry.lag) if entry.lag is not None else "unknown",
                "expires_at": MetadataValue.timestamp(entry.expires_at),
            },
        )

    return _check


#: The marts some payload or report reads (laundry_analytics.analytics.registry; the
#: revenue report also reads daily_revenue_summaries).
PAYLOAD_MARTS = sorted(
    {mart for name in registry.payload_types() for mart in registry.get(name).marts} | {"daily_revenue_summaries"}
)

FRESHNESS_CHECKS = [
    *(_mart_data_within_lag(mart) for mart in PAYLOAD_MARTS),
    *(_cache_is_fresh(cache_type) for cache_type in cache.cache_types()),
]

ASSET_CHECKS = [orders_arrive_within_lag, latest_day_is_not_anomalous, *FRESHNESS_CHECKS]


def build_last_update_checks(cache_assets) -> list[AssetChecksDefinition]:
    """Dagster's own freshness checks, on materialization times: each cache asset
    must have been refreshed within its TTL, each mart a payload reads within
    LAUNDRY_MAX_DATA_LAG_MINUTES. Evaluated by freshness_checks_sensor, so an asset
    whose refresh stopped turns from green to a warning without any run."""
    analytics = settings_module.load().analytics_schema
    checks = [
        *build_last_update_freshness_checks(
            assets=[AssetKey([analytics, mart]) for mart in PAYLOAD_MARTS], lower_bound_delta=max_data_lag()
        )
    ]
    for cache_asset in cache_assets:
        cache_type = cache_asset.key.path[-1]
        checks += build_last_update_freshness_checks(assets=[cache_asset], lower_bound_delta=cache.ttl(cache_type))
    return checks


def freshness_checks_sensor(checks: list[AssetChecksDefinition]) -> SensorDefinition:
    """Evaluates the last-update freshness checks (stopped by default, like the schedules)."""
    return build_sensor_for_freshness_checks(
        freshness_checks=checks, name="freshness_checks_sensor", default_status=DefaultSensorStatus.STOPPED
    )
