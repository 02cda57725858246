"""Benchmark: render time and size of each report format on the marts built by
bench_marts.py (issue: a 90-day revenue report and a partners report with every
partner, each format under 3 s).

    python benchmarks/bench_marts.py --orders 1000000   (first: data and marts)
    python benchmarks/bench_reports.py                   (from the repository root)

Writes benchmarks/results/reports.json.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import time

import psycopg
from psycopg.rows import dict_row

from reports.datasets import build_dataset
from reports.periods import Period
from reports.render import render

from bench_generate import RESULTS, bench_database  # beside this script


def run_reports() -> dict:
    """Dataset and render time, size and rows of each report format (90 days)."""
    info = bench_database()
    result = {}
    with psycopg.connect(info.conninfo, autocommit=True, row_factory=dict_row) as conn:
        end = conn.execute("select max(order_date) as d from analytics.fct_orders").fetchone()["d"]
        result["orders"] = conn.execute("select count(*) as n from analytics.fct_orders").fetchone()["n"]
        for report_type, days in (("revenue", 90), ("partners", 90)):
            period = Period(end - dt.timedelta(days=days - 1), end)
            started = time.perf_counter()
            dataset = build_dataset(report_type, period, conn=conn)
            result[f"{report_type}_{days}d_dataset_seconds"] = round(time.perf_counter() - started, 2)
            result[f"{report_type}_{days}d_rows"] = dataset.rows
            for fmt in ("pdf", "excel", "csv"):
                started = time.perf_counter()
                file = render(dataset, fmt)
                seconds = time.perf_counter() - started
                result[f"{report_type}_{days}d_{fmt}"] = {"seconds": round(seconds, 2), "bytes": len(file.content)}
                print(
                    f"{report_type} {days}d {fmt:5s} {seconds:6.2f}s {len(file.content):>10,} bytes "
                    f"({dataset.rows:,} rows)",
                    flush=True,
                )
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def main() -> None:
    result = run_reports()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reports.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
