"""The daily marts are daily-partitioned Dagster assets: a partition or a backfill
range rebuilds exactly its dates (idempotently); the catch-up run brings every
partition up to date and records a materialization for exactly the dates it
rebuilt; each partition's materialization carries that day's revenue, orders and
row count."""

import datetime as dt
import os
import subprocess
import sys

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from dagster_project.definitions import build_definitions
from dagster_project.partitions import catch_up_run, daily_partitions
from laundry_analytics.generate import generate

DAILY = AssetKey(["analytics", "daily_revenue_summaries"])
PARTNERS = AssetKey(["analytics", "partner_performance_metrics"])
FCT_ORDERS = AssetKey(["analytics", "fct_orders"])
#: What the daily marts add up (sums from agg_orders_daily and int_partner_orders_daily,
#: new and returning customers from int_customers_daily), kept by deltas in the
#: unpartitioned step.
DAILY_UPSTREAM = [
    FCT_ORDERS,
    AssetKey(["analytics", "agg_orders_daily"]),
    AssetKey(["intermediate", "int_partner_orders_daily"]),
    AssetKey(["intermediate", "int_customer_order_summary"]),
    AssetKey(["intermediate", "int_customers_daily"]),
]
START = dt.date(2026, 3, 1)
BACKFILL = ("2026-03-10", "2026-03-12")
BACKFILL_TAGS = {ASSET_PARTITION_RANGE_START_TAG: BACKFILL[0], ASSET_PARTITION_RANGE_END_TAG: BACKFILL[1]}
#: Per daily mart: its revenue and order-count columns.
MEASURES = {
    DAILY: ("daily_revenue_summaries", "total_revenue", "total_orders"),
    PARTNERS: ("partner_performance_metrics", "revenue", "orders_received"),
}


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


def day_figures(conninfo: str, key: AssetKey) -> dict:
    """Per date: (revenue, orders, rows) of the mart, summed from its rows."""
    table, revenue, orders = MEASURES[key]
    with psycopg.connect(conninfo) as conn:
        return {
            str(day): (float(day_revenue), int(day_orders), rows)
            for day, day_revenue, day_orders, rows in conn.execute(
                f"select date, sum({revenue}), sum({orders}), count(*) from analytics.{table} group by date"
            )
        }


def recorded(result, key: AssetKey) -> dict:
    """Per partition materialized by the run: (revenue, orders, rows) of its metadata."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    figures = {
        e.partition: tuple(e.materialization.metadata[name].value for name in ("revenue", "orders", "day_rows"))
        for e in events
    }
    assert len(figures) == len(events), "a partition was recorded twice"
    return figures


def refreshed_at(conninfo: str, key: AssetKey) -> dict:
    with psycopg.connect(conninfo) as conn:
        return dict(
            conn.execute(f"select date::text, max(refreshed_at) from analytics.{MEASURES[key][0]} group by date")
        )


def test_the_first_catch_up_records_every_day_it_built_with_that_days_figures(partitioned):
    warehouse, _, _, result = partitioned
    today = dt.date.today().isoformat()
    assert catch_up_run(daily_partitions())["partition_key"] == today  # the run is on the latest partition
    for key in (DAILY, PARTNERS):
        built = day_figures(warehouse.conninfo, key)
        # Every date of the mart (order dates from START), with its own figures, and
        # today's partition (the run's own: no orders yet, so zeros); nothing else.
        assert recorded(result, key) == {**built, today: (0.0, 0, 0)}
        assert min(built) == START.isoformat() and len(set(built.values())) > 1
    metadata = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == DAILY
    ).materialization.metadata
    assert "Execution Duration" in metadata  # dbt's own metadata, on every partition
    # Unpartitioned models and the cache ran too, after the marts they read.
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {
        FCT_ORDERS,
        AssetKey(["analytics", "customer_analytics"]),
        AssetKey(["analytics_cache", "dashboard"]),
    } <= materialized


def test_two_partitions_carry_their_own_days_figures(partitioned):
    warehouse, _, _, result = partitioned
    daily = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    first, second = recorded(result, DAILY)["2026-03-02"], recorded(result, DAILY)["2026-03-03"]
    assert first != second
    for day, figures in (("2026-03-02", first), ("2026-03-03", second)):
        row = daily[(day,)]
        assert figures == (pytest.approx(float(row["total_revenue"])), row["total_orders"], 1)


def test_a_catch_up_after_a_late_change_records_only_the_dates_it_rebuilt(partitioned):
    warehouse, job, instance, _ = partitioned
    before = {key: refreshed_at(warehouse.conninfo, key) for key in (DAILY, PARTNERS)}
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        (late_order_date,) = conn.execute(
            """update ops.orders set status = 'cancelled', cancelled_at = now(), updated_at = now()
               where id = (select id from ops.orders where status = 'completed' and partner_id is not null
                           and created_at::date = '2026-03-20' limit 1)
               returning created_at::date::text"""
        ).fetchone()
    result = job.execute_in_process(instance=instance, **catch_up_run(daily_partitions()))
    assert result.success
    today = dt.date.today().isoformat()
    for key in (DAILY, PARTNERS):
        after = refreshed_at(warehouse.conninfo, key)
        rebuilt = {day for day, at in after.items() if at != before[key].get(day)}
        assert late_order_date in rebuilt and len(rebuilt) < len(after) / 2
        figures = day_figures(warehouse.conninfo, key)
        assert recorded(result, key) == {**{day: figures[day] for day in rebuilt}, today: (0.0, 0, 0)}


def test_one_partition_carries_that_days_revenue_and_orders(partitioned):
    warehouse, job, instance, _ = partitioned
    result = job.execute_in_process(instance=instance, partition_key="2026-03-05", asset_selection=[DAILY, PARTNERS])
    assert result.success
    daily = rows(warehouse.conninfo, "daily_revenue_summaries", "date")[("2026-03-05",)]
    partner_rows = [
        r
        for (_, day), r in rows(warehouse.conninfo, "partner_performance_metrics", "partner_id, date").items()
        if day == "2026-03-05"
    ]
    metadata = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert metadata[DAILY]["orders"].value == daily["total_orders"] > 0
    assert metadata[DAILY]["revenue"].value == pytest.approx(float(daily["total_revenue"]))
    assert metadata[DAILY]["day_rows"].value == 1
    # The row count the UI shows for the asset is the whole mart's, not the day's.
    assert metadata[DAILY]["dagster/row_count"].value == len(
        rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    )
    assert metadata[PARTNERS]["orders"].value == sum(r["orders_received"] for r in partner_rows)
    assert metadata[PARTNERS]["day_rows"].value == len(partner_rows)
    # The dbt docs of the model are linked from the asset.
    assert "dbt_docs" in job.asset_layer.asset_graph.get(DAILY).metadata


def test_a_backfill_range_rebuilds_exactly_its_dates_and_is_idempotent(partitioned):
    warehouse, job, instance, _ = partitioned
    before = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    # A late cancellation on a day inside the range reaches fct_orders and the summaries
    # the daily marts add up first (their own step), as in a nightly run.
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        conn.execute("""update ops.orders set status = 'cancelled', cancelled_at = now(), updated_at = now()
                        where id = (select id from ops.orders where status = 'completed'
                                    and created_at::date = '2026-03-11' limit 1)""")
    assert job.execute_in_process(instance=instance, asset_selection=DAILY_UPSTREAM).success

    first = job.execute_in_process(instance=instance, tags=BACKFILL_TAGS, asset_selection=[DAILY, PARTNERS])
    assert first.success
    for key in (DAILY, PARTNERS):  # each partition of the range, with its own day's figures
        figures = day_figures(warehouse.conninfo, key)
        assert recorded(first, key) == {day: figures[day] for day in ("2026-03-10", "2026-03-11", "2026-03-12")}
    after = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    rebuilt = {day for (day,), row in after.items() if row["refreshed_at"] != before[(day,)]["refreshed_at"]}
    assert rebuilt == {"2026-03-10", "2026-03-11", "2026-03-12"}
    assert after[("2026-03-11",)]["cancelled_orders"] == before[("2026-03-11",)]["cancelled_orders"] + 1

    partners_once = rows(warehouse.conninfo, "partner_performance_metrics", "partner_id, date")
    assert job.execute_in_process(instance=instance, tags=BACKFILL_TAGS, asset_selection=[DAILY, PARTNERS]).success
    assert without_refreshed_at(rows(warehouse.conninfo, "daily_revenue_summaries", "date")) == without_refreshed_at(
        after
    )
    assert without_refreshed_at(rows(warehouse.conninfo, "partner_performance_metrics", "partner_id, date")) == (
        without_refreshed_at(partners_once)
    )


def test_dagster_cli_backfills_a_partition_range(partitioned, tmp_path):
    warehouse = partitioned[0]
    before = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    completed = subprocess.run(
        [
            dagster,
            "asset",
            "materialize",
            "-m",
            "dagster_project.definitions",
            "--select",
            "analytics/daily_revenue_summaries,analytics/partner_performance_metrics",
            "--partition-range",
            "...".join(BACKFILL),
        ],
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    after = rows(warehouse.conninfo, "daily_revenue_summaries", "date")
    rebuilt = {day for (day,), row in after.items() if row["refreshed_at"] != before[(day,)]["refreshed_at"]}
    assert rebuilt == {"2026-03-10", "2026-03-11", "2026-03-12"}


def test_an_invalid_partitions_start_is_refused_with_what_to_fix(monkeypatch):
    monkeypatch.setenv("LAUNDRY_PARTITIONS_START", "March 2026")
    with pytest.raises(ValueError, match="LAUNDRY_PARTITIONS_START must be a date as YYYY-MM-DD"):
        daily_partitions()
