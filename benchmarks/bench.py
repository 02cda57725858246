"""The one benchmark command: every step on a fresh ops dataset of the given size.

    python benchmarks/bench.py --orders 1000000   (from the repository root)

Runs, in order: generate + load; a full build of every dbt model and its tests;
an incremental run after one new day of orders plus 1,000 late changes to old
orders; cache reads; each query-API payload for 30 and 365 days and the same
figures computed from the raw ops tables per request (the original system's
way); the render of each report format. Prints a table and writes
benchmarks/results/bench-<orders>.json (wall times, rows, p50/p99, peak RSS of
this process and of the dbt subprocesses). BENCHMARKS.md keeps the latest figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

from bench_api import run_api  # beside this script
from bench_generate import RESULTS
from bench_marts import run_marts
from bench_reports import run_reports


def table(result: dict) -> str:
    marts, api, reports = result["marts"], result["api"], result["reports"]
    lines = [f"{'step':48s} {'value':>22s}"]

    def row(label: str, value: str) -> None:
        lines.append(f"{label:48s} {value:>22s}")

    generated = marts["generate_seconds"]
    row("generate + load", "reused" if generated is None else f"{generated:.1f} s")
    row("full build (dbt run --full-refresh)", f"{marts['full_run_seconds']:.1f} s")
    row("dbt tests", f"{marts['tests_seconds']:.1f} s")
    row(
        f"incremental ({marts['new_orders']:,} new orders + 1,000 changes)", f"{marts['incremental_run_seconds']:.1f} s"
    )
    row("incremental / full", f"{100 * marts['incremental_share_of_full']:.1f} %")
    row("cache refresh (all five payloads)", f"{api['cache_refresh_all_seconds']:.2f} s")
    cache_read = api["cache_get_dashboard"]
    row("cache read (dashboard) p50 / p99", f"{cache_read['p50_ms']} / {cache_read['p99_ms']} ms")
    for key, value in api.items():
        if key.startswith(("api_", "raw_ops_")) and isinstance(value, dict):
            row(f"{key} p50 / p99", f"{value['p50_ms']:.0f} / {value['p99_ms']:.0f} ms")
        elif key.startswith("raw_over_api_"):
            row(key + " (p50 ratio)", f"{value}x")
    for key, value in reports.items():
        if isinstance(value, dict):
            row(f"report {key}", f"{value['seconds']:.2f} s, {value['bytes'] / 1024:,.0f} KB")
    row("peak RSS python / dbt", f"{result['peak_rss_mb_python']:,} / {result['peak_rss_mb_dbt']:,} MB")
    row("total wall time", f"{result['seconds']:.0f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=30, help="samples per API latency (cache reads: 10x)")
    parser.add_argument(
        "--reuse-data",
        action="store_true",
        help="keep the ops data of the last run (skip generate + load; the rest is rebuilt)",
    )
    args = parser.parse_args()
    if args.orders < 1000:
        parser.error("--orders must be at least 1000")
    started = time.monotonic()
    result = {
        "orders": args.orders,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "marts": run_marts(args.orders, args.seed, args.reuse_data),
        "api": run_api(args.runs),
        "reports": run_reports(),
    }
    result["peak_rss_mb_python"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["peak_rss_mb_dbt"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    result["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench-{args.orders}.json").write_text(json.dumps(result, indent=2, default=str))
    print(table(result))


if __name__ == "__main__":
    main()
