"""analytics_cache: one asset per cache type, downstream of the marts its payload
reads, refreshed through the query API (laundry_analytics.cache)."""

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset
from dagster_dbt import get_asset_key_for_model

from dagster_project.resources import WarehouseResource
from laundry_analytics import cache
from laundry_analytics.analytics import registry


def cache_asset_key(cache_type: str) -> list[str]:
    return ["analytics_cache", cache_type]


def build_cache_assets(dbt_assets: list[AssetsDefinition]) -> list[AssetsDefinition]:
    return [_cache_asset(cache_type, dbt_assets) for cache_type in cache.cache_types()]


def _model_key(dbt_assets: list[AssetsDefinition], model: str) -> AssetKey:
    """A dbt model's asset key, in whichever dbt assets definition holds it (the
    daily marts are partitioned, the other models not)."""
    for definition in dbt_assets:
        try:
            return get_asset_key_for_model([definition], model)
        except KeyError:
            continue
    raise KeyError(f"no dbt model named {model}")


def _cache_asset(cache_type: str, dbt_assets: list[AssetsDefinition]) -> AssetsDefinition:
    ttl_minutes = int(cache.ttl(cache_type).total_seconds() // 60)

    @asset(
        key=cache_asset_key(cache_type),
        deps=[_model_key(dbt_assets, model) for model in registry.get(cache_type).marts],
        group_name="cache",
        description=f"The {cache_type} payload for its default window (last 30 days up to today) in "
        f"analytics.analytics_cache, fresh for {ttl_minutes} minutes. Computed by "
        f"laundry_analytics.analytics.{cache_type}(); the row is replaced atomically.",
        kinds={"postgres", "python"},
    )
    def refresh_cache(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.connect() as conn:
            entry = cache.refresh(cache_type, conn=conn)
        period = entry.data["period"]
        context.log.info(f"{entry.cache_key} refreshed for {period['start']}..{period['end']}")
        return MaterializeResult(
            metadata={
                "cache_key": entry.cache_key,
                "period": f"{period['start']}..{period['end']}",
                "expires_at": MetadataValue.timestamp(entry.expires_at),
                "ttl_minutes": ttl_minutes,
            }
        )

    return refresh_cache
