"""The daily marts are daily-partitioned Dagster assets: a partition or a backfill
range rebuilds exactly its dates (idempotently), the catch-up run covers every
partition, and each partition's materialization carries its revenue and orders."""

import datetime as dt
import os
import subprocess
import sys

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance

from dagster_project.definitions import build_definitions
from dagster_project.partitions import catch_up_run, daily_partitions
from laundry_analytics.generate import generate

DAILY = AssetKey(["analytics", "daily_revenue_summaries"])
PARTNERS = AssetKey(["analytics", "partner_performance_metrics"])
FCT_ORDERS = AssetKey(["analytics", "fct_orders"])
START = dt.date(2026, 3, 1)
BACKFILL = ("2026-03-10", "2026-03-12")


@pytest.fixture(scope="module")
def partitioned(module_warehouse):
    """A warehouse with orders from START, partitions from START, all materialized
    by the catch-up run (shared by the module: the tests below only add runs)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("LAUNDRY_PARTITIONS_START", START.isoformat())
        with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
            generate(conn, orders=800, seed=11, start=START, end=dt.date(2026, 4, 15))
        job = build_definitions().resolve_job_def("all_assets_job")
        with DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, **catch_up_run(daily_partitions()))
            assert result.success
            yield module_warehouse, job, instance, result


def rows(conninfo: str, table: str, key: str) -> dict:
    with psycopg.connect(conninfo) as conn:
        cursor = conn.execute(f"select to_jsonb(t) from analytics.{table} t order by {key}")
        return {tuple(str(row[k]) for k in key.split(", ")): row for (row,) in cursor}


def without_refreshed_at(table_rows: dict) -> dict:
    return {key: {k: v for k, v in row.items() if k != "refreshed_at"} for key, row in table_rows.items()}


def test_the_catch_up_run_materializes_every_partition_with_its_figures(partitioned):
    warehouse, _, _, result = partitioned
    expected = daily_partitions().get_partition_keys()
    assert expected[0] == START.isoformat() and expected[-1] == dt.date.today().isoformat()
    for key in (DAILY, PARTNERS):
        events = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
        assert sorted(e.partition for e in events) == expected
        metadata = events[0].materialization.metadata
        assert {"window_revenue", "window_orders", "Execution Duration"} <= set(metadata)
        assert "dagster/row_count" not in metadata  # the table's count is not a partition's
    # Unpartitioned models and the cache ran too, after the marts they read.
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {FCT_ORDERS, AssetKey(["analytics", "customer_analytics"]), AssetKey(["analytics_cache", "dashboard"])} <= materialized


def test_one_partition_carries_that_days_revenue_and_orders(partitioned):
    warehouse, job, instance, _ = partitioned
    result = job.execute_in_process(instance=instance, partition_key="2026-03-05", asset_selection=[DAILY, PARTNERS])
    assert result.success
    daily = rows(warehouse.conninfo, "daily_revenue_summaries", "date")[("2026-03-05",)]
    partner_rows = [r for (_, day), r in rows(warehouse.conninfo, "partner_performance_metrics", "partner_id, date").items()
                    if day == "2026-03-05"]
    metadata = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert metadata[DAILY]["window_orders"].value == daily["total_orders"] > 0
    assert metadata[DAILY]["window_revenue"].value == pytest.approx(float(daily["total_revenue"]))
    assert metadata[PARTNERS]["window_orders"].value == sum(r["orders_received"] for r in partner_rows)
    # The dbt docs of the model are linked from the asset.
    assert "dbt_docs" in job.asset_layer.asset_graph.get(DAILY).metadata


def test_a_backfill_range_rebuilds_exactly_its_dates_and_is_idempotent(partitioned):
    warehouse, job, instance, _ = partitioned
    before = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    # A late cancellation on a day inside the range reaches fct_orders first (its own step).
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        conn.execute("""update ops.orders set status = 'cancelled', cancelled_at = now(), updated_at = now()
                        where id = (select id from ops.orders where status = 'completed'
                                    and created_at::date = '2026-03-11' limit 1)""")
    assert job.execute_in_process(instance=instance, asset_selection=[FCT_ORDERS]).success

    tags = catch_up_run(daily_partitions())["tags"]
    backfill_tags = {name: value for name, value in zip(tags, BACKFILL)}
    first = job.execute_in_process(instance=instance, tags=backfill_tags, asset_selection=[DAILY, PARTNERS])
    assert first.success
    assert sorted(e.partition for e in first.get_asset_materialization_events() if e.asset_key == DAILY) == [
        "2026-03-10", "2026-03-11", "2026-03-12"]
    after = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    rebuilt = {day for (day,), row in after.items() if row["refreshed_at"] != before[(day,)]["refreshed_at"]}
    assert rebuilt == {"2026-03-10", "2026-03-11", "2026-03-12"}
    assert after[("2026-03-11",)]["cancelled_orders"] == before[("2026-03-11",)]["cancelled_orders"] + 1

    partners_once = rows(warehouse.conninfo, "partner_performance_metrics", "partner_id, date")
    assert job.execute_in_process(instance=instance, tags=backfill_tags, asset_selection=[DAILY, PARTNERS]).success
    assert without_refreshed_at(rows(warehouse.conninfo, "daily_revenue_summaries", "date")) == without_refreshed_at(after)
    assert without_refreshed_at(rows(warehouse.conninfo, "partner_performance_metrics", "partner_id, date")) == (
        without_refreshed_at(partners_once))


def test_dagster_cli_backfills_a_partition_range(partitioned, tmp_path):
    warehouse = partitioned[0]
    before = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    completed = subprocess.run(
        [dagster, "asset", "materialize", "-m", "dagster_project.definitions",
         "--select", "analytics/daily_revenue_summaries,analytics/partner_performance_metrics",
         "--partition-range", "...".join(BACKFILL)],
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)}, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    after = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    rebuilt = {day for (day,), row in after.items() if row["refreshed_at"] != before[(day,)]["refreshed_at"]}
    assert rebuilt == {"2026-03-10", "2026-03-11", "2026-03-12"}


def test_an_invalid_partitions_start_is_refused_with_what_to_fix(monkeypatch):
    monkeypatch.setenv("LAUNDRY_PARTITIONS_START", "March 2026")
    with pytest.raises(ValueError, match="LAUNDRY_PARTITIONS_START must be a date as YYYY-MM-DD"):
        daily_partitions()
