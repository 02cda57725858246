"""One refresh of a warehouse at a time: a Dagster dbt step waits for the refresh
that holds the warehouse's refresh lock, the `dbt` command refuses at once, the
nightly schedule skips its tick, all three naming the refresh that runs; two
`materialize` commands started together never collide, and the marts end up as a
full refresh builds them."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, build_schedule_context, instance_for_test
from psycopg.rows import dict_row

from dagster_project.concurrency import refresh_tags
from dagster_project.definitions import build_definitions
from dagster_project.partitions import catch_up_run, daily_partitions
from laundry_analytics import refresh_lock
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate
from laundry_cli.main import main

MARTS = {
    "fct_orders": "order_id",
    "daily_revenue_summaries": "date",
    "partner_performance_metrics": "partner_id, date",
    "customer_analytics": "user_id",
}
BOOKKEEPING = {"refreshed_at", "changes_applied_through"}


@pytest.fixture
def orders(warehouse):
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=300, seed=5)
    return warehouse


def waiting_for_refresh_lock(conninfo: str) -> bool:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "select exists (select from pg_locks where locktype = 'advisory' and not granted "
            "and classid = %s and objid = %s)",
            refresh_lock.LOCK_KEY,
        ).fetchone()[0]


def test_a_dagster_refresh_waits_for_the_running_one_then_builds(orders):
    job = build_definitions().resolve_job_def("all_assets_job")
    outcome = {}

    def nightly_run():
        with DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False, **catch_up_run(daily_partitions()))
            outcome["result"] = result
            outcome["messages"] = [entry.user_message for entry in instance.all_logs(result.run_id)]

    with refresh_lock.hold("run id earlier-refresh"):
        thread = threading.Thread(target=nightly_run)
        thread.start()
        deadline = time.monotonic() + 300
        while not waiting_for_refresh_lock(orders.conninfo):
            assert thread.is_alive() and time.monotonic() < deadline, "the run never waited for the lock"
            time.sleep(0.5)
    thread.join(timeout=600)
    assert outcome["result"].success
    assert any(
        "a refresh is already running (run id earlier-refresh): waiting up to 60 minutes" in message
        for message in outcome["messages"]
    )


def test_a_dagster_refresh_that_waited_too_long_fails_naming_the_running_one(orders, monkeypatch):
    monkeypatch.setenv("LAUNDRY_REFRESH_WAIT_MINUTES", "0.05")  # 3 seconds
    job = build_definitions().resolve_job_def("all_assets_job")
    with refresh_lock.hold("run id earlier-refresh"), DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, **catch_up_run(daily_partitions()))
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "a refresh is already running (run id earlier-refresh) and did not finish within 3 seconds" in (
        failure.step_failure_data.error.to_string()
    )


def test_the_dbt_command_is_refused_at_once_while_a_refresh_runs(orders, capsys):
    with refresh_lock.hold("run id earlier-refresh"):
        assert main(["dbt", "run"]) == 1
        assert "error: a refresh is already running (run id earlier-refresh)" in capsys.readouterr().err
        assert main(["dbt", "parse", "--quiet"]) == 0  # touches no table: not a refresh
    assert main(["dbt", "run", "--select", "stg_ops__orders", "--quiet"]) == 0


@pytest.mark.parametrize("schedule_name", ["all_assets_nightly_schedule", "intraday_refresh_schedule"])
def test_a_refresh_schedule_skips_its_tick_while_a_refresh_runs(orders, schedule_name):
    definitions = build_definitions()
    schedule = definitions.get_schedule_def(schedule_name)

    def tick(instance):
        return schedule.evaluate_tick(
            build_schedule_context(
                instance=instance,
                repository_def=definitions.get_repository_def(),
                scheduled_execution_time=dt.datetime(2026, 7, 1, 1, 0, tzinfo=dt.timezone.utc),
            )
        )

    with instance_for_test() as instance:
        assert tick(instance).run_requests  # nothing runs: the tick requests its run
        with refresh_lock.hold("pid 4242, dbt run"):  # e.g. `laundry-analytics dbt run`
            skipped = tick(instance)
        assert skipped.run_requests == [] and skipped.skip_message == (
            "a refresh is already running (pid 4242, dbt run): tick skipped, the next one catches up"
        )
        running = DagsterRun(
            job_name="all_assets_job", run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED, tags=refresh_tags()
        )
        instance.add_run(running)
        assert tick(instance).skip_message.startswith(f"a refresh is already running (run id {running.run_id})")


def snapshot(conninfo: str) -> dict:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {
            table: [
                tuple(v for k, v in row.items() if k not in BOOKKEEPING)
                for row in conn.cursor(row_factory=dict_row).execute(f"select * from analytics.{table} order by {key}")
            ]
            for table, key in MARTS.items()
        }


def test_two_materialize_commands_started_together_never_collide(orders, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "laundry_cli", "materialize"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [(command.wait(timeout=900), command.stdout.read()) for command in commands]
    for code, output in outputs:
        assert "already exists" not in output
        # Either it ran (after waiting for the other one's dbt steps), or it was refused at once.
        assert code == 0 or (code == 1 and "a refresh is already running (run id " in output), output[-3000:]
    assert 0 in [code for code, _ in outputs]
    refreshed = snapshot(orders.conninfo)
    run_dbt(["run", "--full-refresh"], capture=True)
    assert snapshot(orders.conninfo) == refreshed
