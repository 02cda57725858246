"""A materialization whose database connections are killed midway (what a
PostgreSQL restart does to dbt) is retried, and the marts end up exactly as a
clean full refresh builds them. A run that fails midway for good leaves the
marts for the next run to repair."""

import threading
import time

import psycopg
from dagster import AssetKey, DagsterInstance
from psycopg.rows import dict_row

from dagster_project.definitions import build_definitions
from dagster_project.partitions import catch_up_run, daily_partitions
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

MARTS = {
    "daily_revenue_summaries": "date",
    "partner_performance_metrics": "partner_id, date",
    "customer_analytics": "user_id",
}

BOOKKEEPING = {"refreshed_at", "changes_applied_through"}


def snapshot(conn) -> dict:
    """Every mart row, without the refresh bookkeeping (run start times, which differ by design)."""
    return {
        table: [
            tuple(v for k, v in row.items() if k not in BOOKKEEPING)
            for row in conn.cursor(row_factory=dict_row).execute(f"select * from analytics.{table} order by {key}")
        ]
        for table, key in MARTS.items()
    }


#: A statement that writes a table of the analytics schema, as dbt renders it.
WRITE = r'(create\s+table|insert\s+into|delete\s+from|update)\s+("\w+"\.)?"analytics"\.'


def kill_dbt_queries_once(conninfo: str, killed: list, stop: threading.Event) -> None:
    """Wait until dbt is writing to the warehouse (creating, filling or updating a table
    in `analytics`), then terminate every dbt connection doing so, in the same statement:
    at test sizes one write takes milliseconds, so finding and killing in two steps could
    miss it, and killing the idle connection of a step's last model would fail nothing."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while not stop.is_set():
            pids = [
                pid
                for (pid, terminated) in conn.execute(
                    "select pid, pg_terminate_backend(pid) from pg_stat_activity"
                    " where datname = current_database() and pid <> pg_backend_pid() and state = 'active'"
                    " and application_name = 'dbt'"
                    " and query ~* %s",
                    [WRITE],
                )
                if terminated
            ]
            if pids:
                killed.extend(pids)
                return
            time.sleep(0.005)


def test_killed_connections_are_retried_and_the_marts_equal_a_full_refresh(warehouse):
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=20000, seed=9)
    definitions = build_definitions()
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=kill_dbt_queries_once, args=(warehouse.conninfo, killed, stop))
    killer.start()
    with DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_job_def("all_assets_job").execute_in_process(
            instance=instance, raise_on_error=False, **catch_up_run(daily_partitions())
        )
    stop.set()
    killer.join()
    assert killed, "the test never caught dbt building a mart"
    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retries
    # autocommit: an open read transaction would hold locks that block dbt's full refresh
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        after_retry = snapshot(conn)
        run_dbt(["run", "--full-refresh"], capture=True)
        assert snapshot(conn) == after_retry


#: Late source changes on old dates (captured payments, cancellations), with
#: timestamps after the first build, so the next run has dates to rebuild.
LATE_CHANGES = [
    """insert into ops.payments
       select gen_random_uuid(), o.id, 25.00, 'card', 'completed', clock_timestamp(), clock_timestamp(), clock_timestamp()
       from ops.orders o order by o.id limit 20""",
    """update ops.orders set status = 'cancelled', cancelled_at = clock_timestamp(), updated_at = clock_timestamp()
       where id in (select id from ops.orders order by id desc limit 10)""",
]


def test_a_run_that_fails_midway_is_repaired_by_the_next_run(warehouse, monkeypatch):
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=2000, seed=9)
    run_dbt(["run"], capture=True)  # yesterday's state of the marts
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        for statement in LATE_CHANGES:
            conn.execute(statement)
    job = build_definitions().resolve_job_def("all_assets_job")
    with DagsterInstance.ephemeral() as instance, psycopg.connect(warehouse.conninfo) as holder:
        # The daily revenue mart is locked (a long report query, a stuck migration) and
        # dbt gives up waiting: a non-transient failure, not retried. The upstream step
        # has already rebuilt fct_orders with the changes; the mart is left behind.
        holder.execute("lock table analytics.daily_revenue_summaries in access exclusive mode")
        monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=2s")
        failed = job.execute_in_process(instance=instance, raise_on_error=False, **catch_up_run(daily_partitions()))
        monkeypatch.delenv("PGOPTIONS")
        holder.rollback()
        assert not failed.success
        failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
        assert (
            failure.step_key == "laundry_daily_marts" and "lock timeout" in failure.step_failure_data.error.to_string()
        )
        assert AssetKey(["analytics", "fct_orders"]) in {e.asset_key for e in failed.get_asset_materialization_events()}
        with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
            after_failure = snapshot(conn)
        # The next (nightly) run, nothing changed in between.
        rerun = job.execute_in_process(instance=instance, raise_on_error=False, **catch_up_run(daily_partitions()))
    assert rerun.success
    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        repaired = snapshot(conn)
        assert repaired["daily_revenue_summaries"] != after_failure["daily_revenue_summaries"]  # it was stale
        run_dbt(["run", "--full-refresh"], capture=True)
        assert snapshot(conn) == repaired
