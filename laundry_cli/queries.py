"""Commands that read payloads: `query` (computed from the marts) and `cache`
(analytics_cache)."""

from __future__ import annotations

import argparse
import json
import sys

from laundry_analytics import cache
from laundry_analytics.analytics import registry
from laundry_analytics.analytics.arithmetic import to_jsonable
from laundry_analytics.durations import duration_text
from laundry_cli.console import fail, say


def cmd_query(args: argparse.Namespace) -> int:
    data = to_jsonable(
        registry.payload(
            args.payload, args.start, args.end, args.partner, service_category=args.service_category, city=args.city
        )
    )
    print(json.dumps(data, indent=2) if args.format == "json" else format_table(data))
    return 0


def cmd_cache_get(args: argparse.Namespace) -> int:
    entry = cache.get(args.cache_type)
    if entry is None:
        fail(
            f"no {args.cache_type} payload in analytics_cache: run `laundry-analytics cache refresh "
            f"{args.cache_type}` (or materialize the cache assets)",
            code=1,
        )
    lag = "unknown" if entry.lag is None else duration_text(entry.lag)
    print(
        f"laundry-analytics cache get: {args.cache_type}: data as of {entry.data.get('data_as_of') or 'unknown'} "
        f"(lag {lag}), computed {entry.created_at:%Y-%m-%d %H:%M:%S %Z}",
        file=sys.stderr,
    )
    if not entry.is_fresh:
        print(
            f"laundry-analytics cache get: warning: stale: {entry.stale_reason} "
            f"(computed {entry.created_at:%Y-%m-%d %H:%M:%S %Z})",
            file=sys.stderr,
        )
    print(cache.dumps(entry) if args.format == "json" else format_table(entry.data))
    return 0


def cmd_cache_refresh(args: argparse.Namespace) -> int:
    cache_types = args.cache_types or cache.cache_types()
    unknown = sorted(set(cache_types) - set(cache.cache_types()))
    if unknown:
        fail(f"unknown cache type {', '.join(unknown)}: choose from {', '.join(cache.cache_types())}")
    for cache_type in cache_types:
        entry = cache.refresh(cache_type, as_of=args.as_of)
        say(f"{entry.cache_key}: refreshed, fresh until {entry.expires_at:%Y-%m-%d %H:%M:%S %Z}")
    return 0


def cmd_cache_cleanup(args: argparse.Namespace) -> int:
    say(f"{cache.cleanup()} expired cache rows deleted")
    return 0


def format_table(data: dict) -> str:
    """A payload as text for a terminal: scalars as `name: value`, objects as
    indented pairs, lists of objects as aligned tables."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {name:<24} {_cell(item)}" for name, item in value.items())
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            columns = list(value[0])
            rows = [[_cell(row.get(column)) for column in columns] for row in value]
            widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)))
            lines.extend("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)
        else:
            lines.append(f"{key}: {_cell(value)}")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return f"({len(value)} items)"
    return str(value)
