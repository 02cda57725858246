"""Benchmark: generate and load N orders (issue: 1M orders in under 3 minutes).

    python benchmarks/bench_generate.py --orders 1000000

Runs against LAUNDRY_PG_DSN if set, else the embedded server, in a database of its
own (`laundry_bench`, or --database). Prints wall time, rows per table, peak RSS
of this process and the shape of the data (the largest customer's and the top 1%
of customers' share of orders, the largest partner's share); writes the figures
to benchmarks/results/generate.json (generate-<orders>.json with --keep-per-size).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import psycopg
from psycopg import sql

from laundry_analytics import database, ops_schema
from laundry_analytics.generate import generate

RESULTS = Path(__file__).parent / "results"


def bench_database(name: str = "laundry_bench") -> database.ConnectionInfo:
    """A database of the benchmark's own on the configured server, exported."""
    server = database.ensure_database()
    with psycopg.connect(server.with_database("postgres").conninfo, autocommit=True) as admin:
        if not admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    info = server.with_database(name)
    database.export_to_environment(info)
    return info


SHAPE = """
    with per_customer as (select count(*) as n from ops.orders group by customer_id),
    ranked as (select n, row_number() over (order by n desc) as rank, count(*) over () as customers
               from per_customer),
    per_partner as (select count(*) as n from ops.orders where partner_id is not null group by partner_id)
    select max(customers), max(n)::float / sum(n),
           sum(n) filter (where rank <= ceil(customers / 100.0))::float / sum(n),
           (select max(n)::float / sum(n) from per_partner)
    from ranked
"""


def data_shape(conn: psycopg.Connection) -> dict[str, float]:
    """How concentrated the orders are on customers and partners."""
    customers, top, top_percent, top_partner = conn.execute(SHAPE).fetchone()
    return {
        "customers": customers,
        "top_customer_share": round(top, 5),
        "top_1pct_customers_share": round(top_percent, 4),
        "top_partner_share": round(top_partner, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--messy-fraction", type=float, default=0.0)
    parser.add_argument("--database", default="laundry_bench", help="database to (re)create the ops data in")
    parser.add_argument("--keep-per-size", action="store_true", help="write results/generate-<orders>.json")
    args = parser.parse_args()

    info = bench_database(args.database)
    started = time.monotonic()
    with psycopg.connect(info.conninfo) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        summary = generate(
            conn,
            orders=args.orders,
            seed=args.seed,
            messy_fraction=args.messy_fraction,
            progress=lambda m: print(f"{time.monotonic() - started:7.1f}s  {m}", flush=True),
        )
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    with psycopg.connect(info.conninfo) as conn:
        shape = data_shape(conn)
    result = {
        "orders": args.orders,
        "seconds": round(summary.seconds, 1),
        "peak_rss_mb": peak_rss_mb,
        "rows": summary.rows,
        "shape": shape,
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"generate-{args.orders}.json" if args.keep_per_size else "generate.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
