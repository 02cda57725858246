"""Benchmark: generate and load N orders (issue: 1M orders in under 3 minutes).

    python benchmarks/bench_generate.py --orders 1000000

Runs against LAUNDRY_PG_DSN if set, else the embedded server, in a database of its
own (`laundry_bench`). Prints wall time, rows per table and peak RSS of this
process; writes the figures to benchmarks/results/generate.json.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--messy-fraction", type=float, default=0.0)
    args = parser.parse_args()

    info = bench_database()
    started = time.monotonic()
    with psycopg.connect(info.conninfo) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        summary = generate(conn, orders=args.orders, seed=args.seed, messy_fraction=args.messy_fraction,
                           progress=lambda m: print(f"{time.monotonic() - started:7.1f}s  {m}", flush=True))
    result = {
        "orders": args.orders,
        "seconds": round(summary.seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": summary.rows,
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generate.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
