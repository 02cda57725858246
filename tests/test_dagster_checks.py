"""The asset checks run through Dagster: source freshness and the anomaly check on
the latest complete day (with their numbers in the metadata), and the dbt
reconciliation tests across the marts."""

import datetime as dt

import psycopg
import pytest
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, Definitions, define_asset_job

from dagster_project.checks import robust_z
from dagster_project.definitions import build_definitions, defs
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

DAILY = AssetKey(["analytics", "daily_revenue_summaries"])
ANOMALY = AssetCheckKey(DAILY, "latest_day_is_not_anomalous")
FRESHNESS = AssetCheckKey(AssetKey(["ops", "orders"]), "orders_arrive_within_lag")
REVENUE_RECONCILES = AssetCheckKey(DAILY, "revenue_reconciles_across_marts")
ORDERS_RECONCILE = AssetCheckKey(DAILY, "order_counts_reconcile_across_marts")


def test_robust_z_score():
    history = [10, 11, 9, 10, 12, 10, 9, 11]  # median 10, MAD 1
    assert robust_z(10, history) == 0
    assert robust_z(20, history) == pytest.approx(6.745)
    assert robust_z(20, history[:3]) is None  # too little history


def run_checks(*keys):
    definitions = Definitions.merge(
        build_definitions(), Definitions(jobs=[define_asset_job("checks_only", selection=AssetSelection.checks(*keys))])
    )
    with DagsterInstance.ephemeral() as instance:
        # A failing dbt test fails its step: its evaluation is still recorded.
        result = definitions.resolve_job_def("checks_only").execute_in_process(instance=instance, raise_on_error=False)
    return {e.asset_check_key: e for e in result.get_asset_check_evaluations()}


def seed_orders(conn, per_day: dict[dt.date, int]) -> None:
    conn.execute("""
        insert into ops.users values ('00000000-0000-4000-8000-000000000001', 'a@example.com', 'A', null, now(), true, false)
    """)
    for day, count in per_day.items():
        conn.execute(
            """
            insert into ops.orders (id, order_number, customer_id, status, total_amount, created_at, updated_at)
            select gen_random_uuid(), 'LC-' || %(day)s || '-' || g, '00000000-0000-4000-8000-000000000001',
                   'pending', 10, %(day)s::date + interval '12 hours', now()
            from generate_series(1, %(count)s) g
        """,
            {"day": day, "count": count},
        )


def seed_paid_orders(conn, per_day: dict[dt.date, tuple[int, int]]) -> None:
    """Per day, (count, amount): `count` orders, each paid `amount` by card (captured)."""
    seed_orders(conn, {day: count for day, (count, _) in per_day.items()})
    for day, (_, amount) in per_day.items():
        conn.execute(
            """
            insert into ops.payments (id, order_id, amount, method, status, created_at, paid_at, updated_at)
            select gen_random_uuid(), id, %(amount)s, 'card', 'completed', created_at, created_at, now()
            from ops.orders where created_at::date = %(day)s
        """,
            {"day": day, "amount": amount},
        )


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


def test_a_revenue_spike_is_flagged_and_the_threshold_comes_from_the_environment(warehouse, monkeypatch):
    latest = dt.date(2026, 6, 29)
    # Same weekday, 8 weeks back: 10-12 orders at 20 each (revenue 200-240); the latest
    # day has an ordinary 11 orders, but at 100 each.
    history = {latest - dt.timedelta(weeks=w): (10 + w % 3, 20) for w in range(1, 9)}
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        seed_paid_orders(conn, {**history, latest: (11, 100), latest + dt.timedelta(days=1): (1, 20)})
    run_dbt(["run", "--select", "+daily_revenue_summaries"], capture=True)
    evaluation = run_checks(ANOMALY)[ANOMALY]
    metadata = {key: value.value for key, value in evaluation.metadata.items()}
    assert not evaluation.passed and evaluation.severity.value == "WARN"
    assert (metadata["revenue"], metadata["orders"], metadata["threshold"]) == (1100.0, 11, 3.5)
    assert metadata["revenue_z"] > 3.5 and metadata["orders_z"] == 0  # the revenue, not the order count
    assert evaluation.description == "2026-06-29: revenue outside ±3.5 robust z"
    # A threshold above the spike's z-score lets the same day pass: the check reads it at run time.
    threshold = metadata["revenue_z"] + 1
    monkeypatch.setenv("LAUNDRY_ANOMALY_THRESHOLD", str(threshold))
    evaluation = run_checks(ANOMALY)[ANOMALY]
    assert evaluation.passed and evaluation.metadata["threshold"].value == threshold


def test_the_reconciliation_tests_are_checks_on_the_daily_revenue_mart():
    checks = defs().resolve_asset_graph().asset_check_keys
    assert {REVENUE_RECONCILES, ORDERS_RECONCILE} <= checks


def materialize_daily_revenue(definitions: Definitions, instance: DagsterInstance, partition: str) -> dict:
    """Rebuild one partition of daily_revenue_summaries through the nightly job, with its
    checks (the dbt reconciliation tests read the whole mart, not just the partition);
    return the check evaluations by key and whether the run succeeded."""
    result = definitions.resolve_job_def("all_assets_job").execute_in_process(
        instance=instance, partition_key=partition, asset_selection=[DAILY], raise_on_error=False
    )
    return {"success": result.success, **{e.asset_check_key: e for e in result.get_asset_check_evaluations()}}


def test_a_tampered_mart_fails_the_revenue_reconciliation(warehouse):
    # The checks run in a partition's run, as in the nightly one (a checks-only run:
    # test_the_reconciliation_checks_run_on_their_own_without_a_partition).
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=300, seed=5, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
        run_dbt(["run"], capture=True)
        definitions = build_definitions()
        with DagsterInstance.ephemeral() as instance:
            clean = materialize_daily_revenue(definitions, instance, "2026-03-10")
            assert clean["success"] and clean[REVENUE_RECONCILES].passed and clean[ORDERS_RECONCILE].passed
            # A day outside the rebuilt partition, so the run does not repair it.
            conn.execute(
                "update analytics.daily_revenue_summaries set total_revenue = total_revenue + 1 "
                "where date = '2026-03-20'"
            )
            tampered = materialize_daily_revenue(definitions, instance, "2026-03-10")
    assert not tampered["success"]  # a failing dbt test fails the step, and so the run (and alerts)
    assert not tampered[REVENUE_RECONCILES].passed and tampered[REVENUE_RECONCILES].severity.value == "ERROR"
    assert tampered[ORDERS_RECONCILE].passed  # the order counts were not touched


def test_the_reconciliation_checks_run_on_their_own_without_a_partition(warehouse):
    # What "Execute" on the check in the UI launches: the checks only, no partition.
    # They test the marts as they are (a tampered day fails), building nothing.
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=300, seed=5, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
        run_dbt(["run"], capture=True)
        conn.execute(
            "update analytics.daily_revenue_summaries set total_revenue = total_revenue + 1 where date = '2026-03-20'"
        )
        refreshed_before = conn.execute("select max(refreshed_at) from analytics.daily_revenue_summaries").fetchone()
        definitions = build_definitions()
        job = definitions.resolve_job_def("all_assets_job").get_subset(
            asset_check_selection={REVENUE_RECONCILES, ORDERS_RECONCILE}
        )
        with DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        evaluations = {e.asset_check_key: e for e in result.get_asset_check_evaluations()}
        assert not evaluations[REVENUE_RECONCILES].passed and evaluations[ORDERS_RECONCILE].passed
        assert not result.get_asset_materialization_events()  # only tested, nothing rebuilt
        assert (
            conn.execute("select max(refreshed_at) from analytics.daily_revenue_summaries").fetchone()
            == refreshed_before
        )


def test_customer_counts_kept_by_deltas_are_checked_against_the_orders(warehouse):
    """The new and returning customers per date (int_customers_daily) have a check
    that recounts them from fct_orders: it passes after a build and fails, with the
    one date that drifted, when a count is tampered with."""
    check = AssetCheckKey(AssetKey(["intermediate", "int_customers_daily"]), "customer_counts_reconcile_with_facts")
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=300, seed=5, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
        run_dbt(["run"], capture=True)
        assert run_checks(check)[check].passed
        conn.execute(
            "update intermediate.int_customers_daily set new_customers = new_customers + 1, "
            "returning_customers = returning_customers - 1 where order_date = '2026-03-20'"
        )
        drifted = run_checks(check)[check]
    assert not drifted.passed and drifted.metadata["dagster_dbt/failed_row_count"].value == 1
