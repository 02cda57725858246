"""The Python asset checks run through Dagster: source freshness and the anomaly
check on the latest complete day, with their numbers in the metadata."""

import datetime as dt

import psycopg
import pytest
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, Definitions, define_asset_job

from dagster_project.checks import robust_z
from dagster_project.definitions import build_definitions
from laundry_analytics.dbt_runner import run_dbt

ANOMALY = AssetCheckKey(AssetKey(["analytics", "daily_revenue_summaries"]), "latest_day_is_not_anomalous")
FRESHNESS = AssetCheckKey(AssetKey(["ops", "orders"]), "orders_arrive_within_lag")


def test_robust_z_score():
    history = [10, 11, 9, 10, 12, 10, 9, 11]  # median 10, MAD 1
    assert robust_z(10, history) == 0
    assert robust_z(20, history) == pytest.approx(6.745)
    assert robust_z(20, history[:3]) is None  # too little history


def run_checks(*keys):
    definitions = Definitions.merge(build_definitions(), Definitions(
        jobs=[define_asset_job("checks_only", selection=AssetSelection.checks(*keys))]))
    with DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_job_def("checks_only").execute_in_process(instance=instance)
    return {e.asset_check_key: e for e in result.get_asset_check_evaluations()}


def seed_orders(conn, per_day: dict[dt.date, int]) -> None:
    conn.execute("""
        insert into ops.users values ('00000000-0000-4000-8000-000000000001', 'a@example.com', 'A', null, now(), true, false)
    """)
    for day, count in per_day.items():
        conn.execute("""
            insert into ops.orders (id, order_number, customer_id, status, total_amount, created_at, updated_at)
            select gen_random_uuid(), 'LC-' || %(day)s || '-' || g, '00000000-0000-4000-8000-000000000001',
                   'pending', 10, %(day)s::date + interval '12 hours', now()
            from generate_series(1, %(count)s) g
        """, {"day": day, "count": count})


def test_a_spike_on_the_latest_day_is_a_warning_with_the_numbers(warehouse):
    latest = dt.date(2026, 6, 29)  # the latest complete day: the mart's last date is 06-30
    days = {latest - dt.timedelta(weeks=w): 10 + w % 3 for w in range(1, 9)}
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        seed_orders(conn, {**days, latest: 60, latest + dt.timedelta(days=1): 5})
    run_dbt(["run", "--select", "+daily_revenue_summaries"], capture=True)
    evaluation = run_checks(ANOMALY)[ANOMALY]
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    metadata = {key: value.value for key, value in evaluation.metadata.items()}
    assert metadata["day"] == "2026-06-29" and metadata["orders"] == 60
    assert metadata["history_orders"] == [days[d] for d in sorted(days, reverse=True)]
    assert metadata["orders_z"] > 3.5


def test_stale_orders_fail_the_freshness_check(warehouse, monkeypatch):
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        seed_orders(conn, {dt.date.today() - dt.timedelta(days=2): 1})
    assert not run_checks(FRESHNESS)[FRESHNESS].passed
    monkeypatch.setenv("LAUNDRY_FRESHNESS_LAG_MINUTES", str(4 * 24 * 60))
    assert run_checks(FRESHNESS)[FRESHNESS].passed
