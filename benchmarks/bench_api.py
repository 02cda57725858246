"""Benchmark: the query API and the cache on the marts built by bench_marts.py.

    python benchmarks/bench_marts.py --orders 1000000   (first: data and marts)
    python benchmarks/bench_api.py                       (from the repository root)

Measures p50/p99 latency of reading the dashboard payload from analytics_cache,
of computing each payload for a 30-day and a 365-day range through the API, and
of computing the same figures straight from the ops tables the way the original
system did (per-request aggregation over raw orders and payments). Writes
benchmarks/results/api_<database>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import statistics
import time

import psycopg

from laundry_analytics import analytics, cache

from bench_generate import RESULTS, bench_database  # beside this script

# The original system's way: every request aggregates the raw tables (here the
# revenue payload's totals, methods and daily trend, and the orders payload's
# status / hour / weekday counts), converting to local time per row.
RAW_REVENUE = """
with o as (
    select id, (created_at at time zone 'UTC')::date as order_date
    from ops.orders where (created_at at time zone 'UTC')::date between %(start)s and %(end)s
), p as (
    select o.order_date, pay.method, sum(pay.amount) as amount, count(distinct o.id) as paid_orders
    from o join ops.payments pay on pay.order_id = o.id and pay.status = 'completed'
    group by grouping sets ((o.order_date), (pay.method), ())
), r as (
    select coalesce(sum(ref.amount), 0) as refunds from o join ops.refunds ref on ref.order_id = o.id and ref.status = 'completed'
)
select (select count(*) from o), (select refunds from r), count(*) from p
"""
RAW_ORDERS = """
select status, extract(hour from created_at at time zone 'UTC') as hour,
       extract(isodow from created_at at time zone 'UTC') as dow, count(*),
       avg(extract(epoch from accepted_at - created_at) / 60)
from ops.orders where (created_at at time zone 'UTC')::date between %(start)s and %(end)s
group by grouping sets ((), (status), (2), (3))
"""


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "runs": len(ordered),
    }


def measure(call, runs: int) -> dict:
    call()  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def _fetch_all(conn: psycopg.Connection, query: str, params: dict) -> list:
    return conn.execute(query, params).fetchall()


def run_api(runs: int = 30, database: str = "laundry_bench", days_list: tuple[int, ...] = (30, 365)) -> dict:
    """Cache reads, each payload for 30 and 365 days, and the raw-ops equivalents."""
    info = bench_database(database)
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        end = conn.execute("select max(order_date) from analytics.fct_orders").fetchone()[0]
        orders = conn.execute("select count(*) from analytics.fct_orders").fetchone()[0]
        largest_partner, largest_partner_orders = conn.execute("""
            select partner_id, sum(orders_received) from analytics.partner_performance_metrics
            group by partner_id order by 2 desc limit 1""").fetchone()
        started = time.perf_counter()
        for cache_type in cache.cache_types():
            cache.refresh(cache_type, as_of=end, conn=conn)
        result = {
            "orders": orders,
            "end": str(end),
            "largest_partner_orders": largest_partner_orders,
            "cache_refresh_all_seconds": round(time.perf_counter() - started, 2),
            "cache_get_dashboard": measure(lambda: cache.get("dashboard", conn=conn), runs * 10),
        }
        print("cache refresh, all five types", result["cache_refresh_all_seconds"], "s", flush=True)
        print("cache get dashboard", result["cache_get_dashboard"], flush=True)
        for days in days_list:
            start = end - dt.timedelta(days=days - 1)
            for payload_type in analytics.payload_types():
                label = f"api_{payload_type}_{days}d"
                result[label] = measure(functools.partial(analytics.payload, payload_type, start, end, conn=conn), runs)
                print(label, result[label], flush=True)
            # One partner's range reads that partner's rows of the facts: its cost
            # follows the partner's orders (the largest generated partner has ~10%).
            for payload_type in analytics.payload_types():
                label = f"api_{payload_type}_{days}d_largest_partner"
                result[label] = measure(
                    functools.partial(analytics.payload, payload_type, start, end, largest_partner, conn=conn),
                    max(5, runs // 6),
                )
                print(label, result[label], flush=True)
            for name, query in (("revenue", RAW_REVENUE), ("orders", RAW_ORDERS)):
                label = f"raw_ops_{name}_{days}d"
                params = {"start": start, "end": end}
                result[label] = measure(functools.partial(_fetch_all, conn, query, params), max(5, runs // 3))
                result[f"raw_over_api_{name}_{days}d"] = round(
                    result[label]["p50_ms"] / result[f"api_{name}_{days}d"]["p50_ms"], 1
                )
                print(label, result[label], "ratio", result[f"raw_over_api_{name}_{days}d"], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", default="laundry_bench", help="database built by bench_marts.py")
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365], help="range lengths to measure")
    args = parser.parse_args()
    result = run_api(args.runs, args.database, tuple(args.days))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"api_{args.database}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
