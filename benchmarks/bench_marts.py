"""Benchmark: full build of the marts vs an incremental run after one new day of
orders plus 1,000 late changes to old orders (issue: incremental <= 10% of full,
and not growing with history).

    python benchmarks/bench_marts.py --orders 1000000   (from the repository root)

Uses a database of its own (`laundry_bench`) on the configured server (embedded
by default). Writes benchmarks/results/marts-<orders>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from laundry_analytics import ops_schema, settings
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

from bench_generate import RESULTS, bench_database  # beside this script

NEW_DAY_OF_ORDERS = """
with picked as (
    select * from ops.orders order by random() limit %(new_orders)s
), new_orders as (
    insert into ops.orders (id, order_number, customer_id, partner_id, status, total_amount, created_at, updated_at)
    select gen_random_uuid(), 'LC-NEW-' || row_number() over () || '-' || floor(random() * 1e9)::text,
           customer_id, partner_id, 'pending', 12.00, clock_timestamp(), clock_timestamp()
    from picked
    returning id
), new_items as (
    insert into ops.order_items
    select gen_random_uuid(), id, (select id from ops.services limit 1), 2, 6.00, 12.00 from new_orders
    returning order_id
)
insert into ops.payments
select gen_random_uuid(), order_id, 12.00, 'card', 'completed', clock_timestamp(), clock_timestamp(), clock_timestamp()
from new_items
"""

LATE_CHANGES = [
    # 400 late captures, 200 refunds, 200 status changes, 100 reviews, 100 issues on old orders.
    """insert into ops.payments
       select gen_random_uuid(), id, 10.00, 'cash', 'completed', clock_timestamp(), clock_timestamp(), clock_timestamp()
       from ops.orders tablesample system (1) where created_at < now() - interval '30 days' limit 400""",
    """insert into ops.refunds
       select gen_random_uuid(), order_id, id, round(amount / 2, 2), 'completed', 'late', clock_timestamp(), clock_timestamp()
       from ops.payments tablesample system (1) where status = 'completed' limit 200""",
    """update ops.orders set status = 'cancelled', cancelled_at = clock_timestamp(), updated_at = clock_timestamp()
       where id in (select id from ops.orders tablesample system (1) limit 200)""",
    """insert into ops.reviews
       select gen_random_uuid(), o.id, o.customer_id, o.partner_id, 3, 'late', clock_timestamp()
       from ops.orders o tablesample system (1)
       where o.partner_id is not null and not exists (select 1 from ops.reviews r where r.order_id = o.id) limit 100""",
    """insert into ops.order_issues
       select gen_random_uuid(), id, 'delay', 'late', clock_timestamp() from ops.orders tablesample system (1) limit 100""",
]

MODELS: list[str] = []  # every model: staging views, fct_orders, intermediate, marts


def timed(label: str, args: list[str]) -> float:
    started = time.monotonic()
    run_dbt(args, capture=True)
    seconds = time.monotonic() - started
    print(f"{label:42s} {seconds:8.1f}s", flush=True)
    return seconds


def model_seconds() -> dict[str, float]:
    """Seconds per model of the last dbt invocation (its run_results.json), slowest first."""
    results = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json").read_text())["results"]
    timings = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].startswith("model.")
    }
    return dict(sorted(timings.items(), key=lambda item: -item[1]))


def vacuum_analyze(info) -> float:
    """VACUUM ANALYZE the benchmark database; its seconds."""
    started = time.monotonic()
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    return time.monotonic() - started


def run_marts(orders: int, seed: int = 42, reuse_data: bool = False, database: str = "laundry_bench") -> dict:
    """Generate + load a fresh ops dataset, full build, tests, then the incremental
    run after one new day of orders and 1,000 late changes. With `reuse_data`, the
    ops data already in the benchmark database is kept (not generated or timed)."""
    # A target folder of its own, so the benchmark never races a dbt run of the tests.
    os.environ.setdefault("DBT_TARGET_PATH", tempfile.mkdtemp(prefix="laundry-bench-target-"))
    info = bench_database(database)
    with psycopg.connect(info.conninfo) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        if reuse_data:
            rows = {
                table: conn.execute(f"select count(*) from ops.{table}").fetchone()[0]
                for table in ops_schema.OPS_TABLES
            }
            result = {"orders": rows["orders"], "generate_seconds": None, "rows": rows, "peak_rss_mb_generate": None}
            print(f"{'generate + load':42s}   reused ({rows['orders']:,} orders)", flush=True)
        else:
            generated = generate(conn, orders=orders, seed=seed)
            print(f"{'generate + load':42s} {generated.seconds:8.1f}s", flush=True)
            result = {
                "orders": orders,
                "generate_seconds": round(generated.seconds, 1),
                "rows": generated.rows,
                "peak_rss_mb_generate": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
    vacuum_analyze(info)
    result["full_run_seconds"] = timed("full build (dbt run --full-refresh)", ["run", "--full-refresh", *MODELS])
    result["full_run_model_seconds"] = model_seconds()
    # What autovacuum does within minutes of a build (new tables pass its insert
    # threshold): set the visibility map, so the query API's index-only scans of
    # the facts' covering indexes do not fetch every row from the heap, and the
    # nightly run starts from a settled warehouse. Timed apart from the build.
    result["vacuum_after_build_seconds"] = round(vacuum_analyze(info), 1)
    print(f"{'vacuum analyze after the build':42s} {result['vacuum_after_build_seconds']:8.1f}s", flush=True)
    result["tests_seconds"] = timed("dbt tests on everything", ["test"])
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        new_orders = max(1, orders // 365)
        conn.execute(NEW_DAY_OF_ORDERS, {"new_orders": new_orders})
        for statement in LATE_CHANGES:
            conn.execute(statement)
    result["new_orders"] = new_orders
    result["late_changes"] = 1000
    # The nightly run is the first of a new as-of day (the business time zone's date):
    # agg_customers_daily recounts the segments as of it (customer_analytics, a view,
    # computes every customer's recency, segment and churn score when read).
    today = dt.datetime.now(ZoneInfo(settings.load().business_timezone)).date()
    next_day = (today + dt.timedelta(days=1)).isoformat()
    result["incremental_run_seconds"] = timed(
        "incremental run (one day + 1,000 changes)", ["run", "--vars", json.dumps({"as_of_date": next_day}), *MODELS]
    )
    result["incremental_run_model_seconds"] = model_seconds()
    result["incremental_share_of_full"] = round(result["incremental_run_seconds"] / result["full_run_seconds"], 3)
    result["peak_rss_mb_python"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["peak_rss_mb_dbt"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--reuse-data", action="store_true", help="keep the ops data of the last run (skip generate + load)"
    )
    parser.add_argument("--database", default="laundry_bench", help="database of the ops data")
    args = parser.parse_args()
    result = run_marts(args.orders, args.seed, args.reuse_data, args.database)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"marts-{args.orders}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
