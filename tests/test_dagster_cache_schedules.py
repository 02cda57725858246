"""The cache's Dagster side: assets downstream of the marts, TTL-cadence schedules
with run keys, and the hourly cleanup job, all evaluated or executed for real."""

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance, build_schedule_context, instance_for_test

from dagster_project.definitions import build_definitions
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate


@pytest.fixture(scope="module")
def definitions(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=500, seed=3)
    run_dbt(["run"], capture=True)
    return build_definitions()


def test_cache_assets_depend_on_the_marts_their_payload_reads(definitions):
    graph = definitions.resolve_asset_graph()
    assert graph.get(AssetKey(["analytics_cache", "customers"])).parent_keys == {
        AssetKey(["analytics", "fct_orders"]),
        AssetKey(["analytics", "customer_analytics"]),
        AssetKey(["analytics", "dim_customers"]),
        AssetKey(["analytics", "agg_customers_daily"]),
    }
    assert (
        AssetKey(["analytics", "agg_orders_daily"]) in graph.get(AssetKey(["analytics_cache", "revenue"])).parent_keys
    )


@pytest.mark.parametrize(
    ("schedule_name", "cron", "cache_types"),
    [
        ("cache_refresh_05min_schedule", "*/5 * * * *", {"dashboard"}),
        ("cache_refresh_10min_schedule", "*/10 * * * *", {"revenue", "orders", "partners"}),
        ("cache_refresh_15min_schedule", "*/15 * * * *", {"customers"}),
    ],
)
def test_each_ttl_schedule_refreshes_its_cache_types_with_a_run_key(definitions, schedule_name, cron, cache_types):
    schedule = definitions.get_schedule_def(schedule_name)
    assert schedule.cron_schedule == cron and schedule.execution_timezone == "UTC"
    tick = dt.datetime(2026, 6, 30, 12, 15, tzinfo=dt.timezone.utc)
    with DagsterInstance.ephemeral() as instance:
        requests = schedule.evaluate_tick(
            build_schedule_context(instance=instance, scheduled_execution_time=tick)
        ).run_requests
        assert [r.run_key for r in requests] == [f"{schedule_name}:{tick.isoformat()}"]
        job = definitions.resolve_job_def(schedule.job_name)
        result = job.execute_in_process(instance=instance)
    assert result.success
    assert {e.asset_key.path[-1] for e in result.get_asset_materialization_events()} == cache_types


def test_the_hourly_cleanup_job_deletes_only_expired_rows(definitions, module_warehouse):
    definitions.resolve_job_def("cache_refresh_10min_job").execute_in_process(instance=DagsterInstance.ephemeral())
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        conn.execute(
            "update analytics.analytics_cache set created_at = now() - interval '1 hour', "
            "expires_at = now() - interval '1 second' where cache_type = 'orders'"
        )
        assert definitions.get_schedule_def("cache_cleanup_hourly_schedule").cron_schedule == "0 * * * *"
        result = definitions.resolve_job_def("cache_cleanup_job").execute_in_process(
            instance=DagsterInstance.ephemeral()
        )
        assert result.success and result.output_for_node("delete_expired_cache_rows") == 1
        assert {t for (t,) in conn.execute("select cache_type from analytics.analytics_cache")} >= {
            "revenue",
            "partners",
        }
        assert conn.execute(
            "select count(*) from analytics.analytics_cache where cache_type = 'orders'"
        ).fetchone() == (0,)


def test_the_nightly_refresh_runs_every_asset_at_1am_business_time_with_a_run_key(definitions):
    schedule = definitions.get_schedule_def("all_assets_nightly_schedule")
    assert (schedule.cron_schedule, schedule.job_name, schedule.execution_timezone) == (
        "0 1 * * *",
        "all_assets_job",
        "UTC",
    )
    tick = dt.datetime(2026, 7, 1, 1, 0, tzinfo=dt.timezone.utc)
    with instance_for_test() as instance:  # persistent, as the daemon's: the tick looks for a running refresh
        requests = schedule.evaluate_tick(
            build_schedule_context(
                instance=instance, scheduled_execution_time=tick, repository_def=definitions.get_repository_def()
            )
        ).run_requests
    assert [r.run_key for r in requests] == [f"all_assets_nightly_schedule:{tick.isoformat()}"]
    # One run on the tick's day's partition, rebuilding the changed dates of every partition.
    assert requests[0].partition_key == "2026-07-01"
    assert requests[0].run_config == {"ops": {"laundry_daily_marts": {"config": {"only_changed_dates": True}}}}
    job_keys = definitions.resolve_job_def("all_assets_job").asset_layer.asset_graph.get_all_asset_keys()
    assert (
        AssetKey(["analytics", "customer_analytics"]) in job_keys
        and AssetKey(["analytics_cache", "dashboard"]) in job_keys
    )


def test_the_schedules_follow_a_non_utc_business_time_zone(module_warehouse, monkeypatch):
    monkeypatch.setenv("LAUNDRY_BUSINESS_TIMEZONE", "Europe/Lisbon")
    definitions = build_definitions()  # what a code location reload after the change builds
    schedules = list(definitions.schedules)
    assert schedules and {schedule.execution_timezone for schedule in schedules} == {"Europe/Lisbon"}
    schedule = definitions.get_schedule_def("all_assets_nightly_schedule")
    # 01:00 in Lisbon on 1 July is midnight UTC (summer time): the run covers the
    # Lisbon business days up to and including 1 July.
    tick = dt.datetime(2026, 7, 1, 1, 0, tzinfo=ZoneInfo("Europe/Lisbon"))
    with instance_for_test() as instance:
        (request,) = schedule.evaluate_tick(
            build_schedule_context(
                instance=instance, scheduled_execution_time=tick, repository_def=definitions.get_repository_def()
            )
        ).run_requests
    assert request.run_key == "all_assets_nightly_schedule:2026-07-01T01:00:00+01:00"
    assert request.partition_key == "2026-07-01"
