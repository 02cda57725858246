"""The figures of one daily partition, on its materialization: that day's revenue,
order count and rows in the mart (`day_rows`), and the rows of the whole mart
(`dagster/row_count`, the row count the UI shows for the asset: the latest
materialization is usually today's partition, whose day alone would read 0 or 1).

Dagster turns the one Output of a partitioned step into one materialization per
partition of the run, each with the Output's metadata. So the run's own
partitions get their day's figures as partition-scoped metadata
(`add_asset_metadata(partition_key=...)`), and a change-driven run, which targets
the latest partition only but lets dbt rebuild any date whose inputs changed,
records one more materialization for each other date it rebuilt: the dates whose
rows carry this run's refreshed_at. The nightly catch-up so records the few dates
it really rebuilt instead of every partition since the first one (700 identical
events, most of a minute of writes to Dagster's event log); a first build
records every date, once. (A backfill range's materializations can be written
in batches with DAGSTER_EVENT_BATCH_SIZE, but only by PostgreSQL storage for
Dagster: SQLite storage writes a batch one event at a time.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetMaterialization, Output
from psycopg import sql

from dagster_project.resources import WarehouseResource

#: Per daily mart, its revenue and order-count columns (summed over the day's rows).
DAY_MEASURES = {
    "daily_revenue_summaries": ("total_revenue", "total_orders"),
    "partner_performance_metrics": ("revenue", "orders_received"),
}


def record_daily_figures(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    output: Output,
    window: tuple[str, str],
    rebuilt_since: dt.datetime | None,
) -> Iterator[AssetMaterialization]:
    """Give each partition of the run the figures of its day, and yield a
    materialization for each other date of the mart rebuilt since
    `rebuilt_since` (None: a window run, which rebuilds exactly its partitions).
    Call before yielding `output`. A date emptied by the rebuild (in
    partner_performance_metrics, when its only orders lost their partner) has no
    row to tell it was rebuilt; the next window run over it records it."""
    key = context.asset_key_for_output(output.output_name)
    if key.path[-1] not in DAY_MEASURES:
        return
    figures = day_figures(warehouse, key, window, rebuilt_since)
    run_partitions = set(context.partition_keys)
    for partition in run_partitions:
        context.add_asset_metadata(
            figures.get(partition, _figures(0, 0, 0, table_rows(warehouse, key))),
            asset_key=key,
            partition_key=partition,
        )
    partitions = set(context.assets_def.partitions_def.get_partition_keys())
    for day in sorted(figures.keys() - run_partitions):
        if day in partitions:  # not an order date before LAUNDRY_PARTITIONS_START
            yield AssetMaterialization(asset_key=key, partition=day, metadata={**output.metadata, **figures[day]})


def day_figures(
    warehouse: WarehouseResource, table: AssetKey, window: tuple[str, str], rebuilt_since: dt.datetime | None
) -> dict[str, dict]:
    """Per ISO date: the figures of the dates of `window` (start inclusive, end
    exclusive) and of the dates with rows rebuilt since `rebuilt_since`, each over
    all of its day's rows (partner_performance_metrics rebuilds only the partners
    whose orders changed)."""
    revenue, orders = DAY_MEASURES[table.path[-1]]
    query = sql.SQL(
        "select date::text, coalesce(sum({revenue}), 0), coalesce(sum({orders}), 0), count(*) from {table} "
        "where (date >= %s and date < %s) or date in (select date from {table} where refreshed_at >= %s) "
        "group by date"
    ).format(revenue=sql.Identifier(revenue), orders=sql.Identifier(orders), table=sql.Identifier(*table.path))
    total = table_rows(warehouse, table)
    with warehouse.connect() as conn:
        return {
            day: _figures(day_revenue, day_orders, rows, total)
            for day, day_revenue, day_orders, rows in conn.execute(query, (*window, rebuilt_since))
        }


def table_rows(warehouse: WarehouseResource, table: AssetKey) -> int:
    """Rows in the whole mart."""
    with warehouse.connect() as conn:
        return conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(*table.path))).fetchone()[0]


def _figures(revenue, orders, rows, total_rows) -> dict:
    return {
        "revenue": float(revenue),
        "orders": int(orders),
        "day_rows": int(rows),
        "dagster/row_count": int(total_rows),
    }
