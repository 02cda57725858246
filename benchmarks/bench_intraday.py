"""Benchmark: the intraday refresh (`laundry-analytics refresh`, the Dagster job
intraday_refresh_job) after five minutes of orders plus a few late changes, and
how far the dashboard's "today" lags behind orders under steady traffic.

    python benchmarks/bench_intraday.py --orders 1000000            (from the repository root)
    python benchmarks/bench_intraday.py --orders 1000000 --reuse-data --traffic-minutes 60

Uses a database of its own (`laundry_bench`, or --database) on the configured
server (embedded by default): generates the ops data (unless --reuse-data), runs
the nightly job once (`laundry-analytics materialize`, unless --reuse-build), then
  1. --runs times: insert five minutes of orders (orders / 365 / 288, paid) and
     --late-changes late changes to old orders (a capture, a refund, a
     cancellation, a review, an issue, in turn), then time the whole Dagster run
     of `laundry-analytics refresh` and the dbt models in it (run_results.json);
  2. --traffic-minutes of steady order traffic (one order every few seconds, at
     the data set's average rate or --orders-per-minute) while the refresh runs back
     to back: for every order, the time from its commit to the first dashboard
     cache payload whose data_as_of includes it.
Writes benchmarks/results/intraday-<orders>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from laundry_analytics import ops_schema
from laundry_analytics.generate import generate

from bench_generate import RESULTS, bench_database  # beside this script
from bench_marts import NEW_DAY_OF_ORDERS  # paid orders of existing customers, created now

CLI = [sys.executable, "-m", "laundry_cli"]

#: One order of the steady traffic: NEW_DAY_OF_ORDERS picking its customer and
#: partner from a sample of pages instead of sorting every order by random() (3 s
#: per order at 10M, which held the traffic below its rate).
TRAFFIC_ORDER = NEW_DAY_OF_ORDERS.replace("order by random()", "tablesample system (0.1)")
assert TRAFFIC_ORDER != NEW_DAY_OF_ORDERS


LATE_CHANGES = [
    """insert into ops.payments
       select gen_random_uuid(), id, 10.00, 'cash', 'completed', clock_timestamp(), clock_timestamp(), clock_timestamp()
       from ops.orders tablesample system (1) where created_at < now() - interval '30 days' limit 1""",
    """insert into ops.refunds
       select gen_random_uuid(), order_id, id, round(amount / 2, 2), 'completed', 'late', clock_timestamp(),
              clock_timestamp()
       from ops.payments tablesample system (1) where status = 'completed' limit 1""",
    """update ops.orders set status = 'cancelled', cancelled_at = clock_timestamp(), updated_at = clock_timestamp()
       where id in (select id from ops.orders tablesample system (1) limit 1)""",
    """insert into ops.reviews
       select gen_random_uuid(), o.id, o.customer_id, o.partner_id, 3, 'late', clock_timestamp()
       from ops.orders o tablesample system (1)
       where o.partner_id is not null and not exists (select 1 from ops.reviews r where r.order_id = o.id) limit 1""",
    """insert into ops.order_issues
       select gen_random_uuid(), id, 'delay', 'late', clock_timestamp() from ops.orders tablesample system (1) limit 1""",
]


def cli(*args: str) -> float:
    """Run a laundry-analytics command; its wall seconds. Fails loudly."""
    started = time.monotonic()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"laundry-analytics {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def dbt_seconds_since(started: float) -> dict:
    """Model seconds and invocation seconds of the dbt runs that finished after `started`
    (the refresh's dbt steps write run_results.json into target/<step>-<run>/)."""
    target = Path(os.environ["DBT_TARGET_PATH"])
    models: dict[str, float] = {}
    hooks = 0.0  # on-run-start / on-run-end (the end's VACUUM was the models' post-hooks before)
    invocations = []
    for results in target.glob("*/run_results.json"):
        if results.stat().st_mtime < started:
            continue
        data = json.loads(results.read_text())
        invocations.append(round(data.get("elapsed_time", 0.0), 2))
        models |= {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
            for r in data["results"]
            if r["unique_id"].startswith("model.")
        }
        hooks += sum(r["execution_time"] for r in data["results"] if r["unique_id"].startswith("operation."))
    return {
        "dbt_invocations": sorted(invocations),
        "dbt_models_seconds": round(sum(models.values()), 2),
        "dbt_run_hooks_seconds": round(hooks, 2),
        "models": dict(sorted(models.items(), key=lambda item: -item[1])),
    }


def step_seconds() -> dict:
    """Where the latest intraday run's time went, from the Dagster instance the CLI
    recorded it in: the run itself (first step start to last step end) and each
    step's duration. The whole process minus the run is start-up (imports, loading
    the definitions) and shutdown."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from laundry_cli.orchestration import prepare_dagster_home

    prepare_dagster_home()
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(
            RunsFilter(job_name="intraday_refresh_job", statuses=[DagsterRunStatus.SUCCESS]), limit=1
        )
        if not runs:
            return {}
        stats = instance.get_run_step_stats(runs[0].run_id)
    timed = [s for s in stats if s.start_time and s.end_time]
    if not timed:
        return {}
    return {
        "run_seconds": round(max(s.end_time for s in timed) - min(s.start_time for s in timed), 2),
        "steps": {
            s.step_key: round(s.end_time - s.start_time, 2)
            for s in sorted(timed, key=lambda s: -(s.end_time - s.start_time))
        },
    }


def intraday_runs(conninfo: str, orders: int, runs: int, late_changes: int) -> list[dict]:
    new_orders = max(1, round(orders / 365 / 288))
    results = []
    for run in range(runs):
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(NEW_DAY_OF_ORDERS, {"new_orders": new_orders})
            for change in range(late_changes):
                conn.execute(LATE_CHANGES[change % len(LATE_CHANGES)])
        started = time.time()
        seconds = cli("refresh")
        result = {
            "run": run + 1,
            "new_orders": new_orders,
            "late_changes": late_changes,
            "dagster_run_seconds": round(seconds, 2),
            **dbt_seconds_since(started),
            **step_seconds(),
        }
        print(
            f"intraday run {run + 1}: whole run {seconds:6.1f}s, dbt models {result['dbt_models_seconds']:6.1f}s, "
            f"run hooks {result['dbt_run_hooks_seconds']:5.2f}s, "
            f"dbt invocations {result['dbt_invocations']}, steps {result.get('run_seconds')}s: {result.get('steps')}",
            flush=True,
        )
        results.append(result)
    return results


def steady_traffic(conninfo: str, minutes: float, per_minute: float) -> dict:
    """Orders committed at a steady rate while the refresh runs back to back; each
    order's lag: commit -> first dashboard payload whose data_as_of includes it."""
    stop = threading.Event()
    committed: list[dt.datetime] = []

    def place_orders() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute(TRAFFIC_ORDER, {"new_orders": 1})
                committed.append(conn.execute("select now()").fetchone()[0])
                stop.wait(60 / per_minute)

    payloads: list[tuple[dt.datetime, dt.datetime]] = []  # (data_as_of, cache created_at)
    writer = threading.Thread(target=place_orders, daemon=True)
    writer.start()
    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        cli("refresh")
        with psycopg.connect(conninfo) as conn:
            data_as_of, created_at = conn.execute(
                "select (data->>'data_as_of')::timestamptz, created_at from analytics.analytics_cache "
                "where cache_key = 'dashboard:default'"
            ).fetchone()
        payloads.append((data_as_of, created_at))
    stop.set()
    writer.join()
    lags = []
    for commit in committed:
        served = [created for as_of, created in payloads if as_of >= commit]
        if served:
            lags.append((min(served) - commit).total_seconds() / 60)
    lags.sort()
    p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))] if lags else None
    return {
        "minutes": minutes,
        "orders_placed": len(committed),
        "orders_served": len(lags),
        "refresh_runs": len(payloads),
        "lag_minutes_p50": round(statistics.median(lags), 2) if lags else None,
        "lag_minutes_p95": round(p95, 2) if p95 is not None else None,
        "lag_minutes_max": round(max(lags), 2) if lags else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database", default="laundry_bench")
    parser.add_argument("--reuse-data", action="store_true", help="keep the ops data already in the database")
    parser.add_argument("--reuse-build", action="store_true", help="skip the nightly build (marts already built)")
    parser.add_argument("--runs", type=int, default=3, help="timed intraday runs")
    parser.add_argument("--late-changes", type=int, default=5)
    parser.add_argument("--traffic-minutes", type=float, default=10.0, help="0 skips the freshness measurement")
    parser.add_argument(
        "--orders-per-minute",
        type=float,
        default=None,
        help="steady traffic rate (default: the data set's average, at least 6 a minute)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DBT_TARGET_PATH", tempfile.mkdtemp(prefix="laundry-bench-target-"))
    info = bench_database(args.database)
    result: dict = {"orders": args.orders, "database": args.database}
    with psycopg.connect(info.conninfo) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        if not args.reuse_data:
            now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
            generated = generate(conn, orders=args.orders, seed=args.seed, now=now, end=now.date())
            result["generate_seconds"] = round(generated.seconds, 1)
        result["ops_orders"] = conn.execute("select count(*) from ops.orders").fetchone()[0]
    if not args.reuse_build:
        result["nightly_build_seconds"] = round(cli("materialize"), 1)
        print(f"nightly build (materialize): {result['nightly_build_seconds']}s", flush=True)
    result["intraday"] = intraday_runs(info.conninfo, result["ops_orders"], args.runs, args.late_changes)
    result["intraday_median_run_seconds"] = statistics.median(r["dagster_run_seconds"] for r in result["intraday"])
    result["intraday_median_dbt_models_seconds"] = statistics.median(
        r["dbt_models_seconds"] for r in result["intraday"]
    )
    if args.traffic_minutes > 0:
        per_minute = args.orders_per_minute or max(6.0, result["ops_orders"] / 365 / 1440)
        result["freshness"] = steady_traffic(info.conninfo, args.traffic_minutes, per_minute)
        print(f"freshness: {json.dumps(result['freshness'])}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"intraday-{args.orders}.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "intraday"}, indent=2, default=str))


if __name__ == "__main__":
    main()
