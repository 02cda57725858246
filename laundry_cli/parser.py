"""The command line's parser: every subcommand, its arguments and their help.
Lists of choices (payload and report types, formats, frequencies, filters) are
read from the code that defines them."""

from __future__ import annotations

import argparse
from pathlib import Path

from laundry_analytics import cache
from laundry_analytics.analytics import registry
from laundry_cli.arguments import Parser, add_generation_options, int_between, report_date
from laundry_cli.demo import DEFAULT_DEMO_ORDERS, cmd_demo
from laundry_cli.orchestration import cmd_dbt, cmd_materialize, cmd_refresh, cmd_ui
from laundry_cli.queries import cmd_cache_cleanup, cmd_cache_get, cmd_cache_refresh, cmd_query
from laundry_cli.report_commands import cmd_reports
from laundry_cli.warehouse import cmd_generate, cmd_info, cmd_init_db
from reports.periods import FREQUENCIES
from reports.render import FORMATS
from reports.schedule_validation import CATCH_UP_POLICIES, DEFAULT_CATCH_UP_CAP, filter_report_types, report_types

DEFAULT_GENERATED_ORDERS = 10_000
MAX_DELIVERIES_LISTED = 10_000


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="laundry-analytics",
        description="LaundryConnect analytics: demo data, dbt marts through Dagster, cache and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_warehouse_commands(sub)
    _add_query_commands(sub)
    _add_report_commands(sub)
    p = sub.add_parser(
        "dbt",
        help="run dbt on the project with the warehouse exported",
        description="Pass the remaining arguments to dbt, e.g. `laundry-analytics dbt build`.",
    )
    p.add_argument("dbt_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_dbt)
    return parser


def _either(values) -> str:
    """ "a, b or c"."""
    return f"{', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else "".join(values)


def _add_warehouse_commands(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: database, demo data, every asset through Dagster",
        description="Start the warehouse (embedded if none configured), create the ops schema, "
        "generate demo data and materialize every asset through Dagster.",
    )
    add_generation_options(p, DEFAULT_DEMO_ORDERS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "init-db",
        help="create the ops schema (idempotent)",
        description="Create the operational schema and tables; running it again changes nothing.",
    )
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser(
        "generate",
        help="replace the ops data with a generated marketplace",
        description="Generate a deterministic, realistic dataset and load it into the ops schema "
        "with COPY (existing ops rows are replaced).",
    )
    add_generation_options(p, DEFAULT_GENERATED_ORDERS)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "materialize",
        help="materialize every asset through Dagster",
        description="Run the all_assets_job in the persistent Dagster instance.",
    )
    p.set_defaults(func=cmd_materialize)

    p = sub.add_parser(
        "refresh",
        help="bring the marts and the cache up to the latest ops rows (intraday)",
        description="Run the intraday_refresh_job in the persistent Dagster instance: the facts, "
        "the dates and customers touched since the last run, and every cache type, "
        "without the dbt tests (the nightly run has them). Refused (exit 1) while "
        "another refresh of the warehouse runs.",
    )
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser(
        "ui",
        help="open the Dagster UI (dagster dev)",
        description="Run `dagster dev` on workspace.yaml with this project's settings.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int_between(1, 65_535), default=3000, help="1-65535 (default 3000)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser(
        "info",
        help="print where the warehouse, Dagster home and outbox are",
        description="Print connection and folder locations.",
    )
    p.set_defaults(func=cmd_info)


def _add_query_commands(sub) -> None:
    p = sub.add_parser(
        "query",
        help="compute a dashboard payload for any range from the marts",
        description="Compute a payload (the original dashboard endpoints) for a range of order "
        "dates from the marts. Defaults: the last 30 days up to today, all partners.",
    )
    p.add_argument("payload", choices=registry.payload_types())
    p.add_argument("--start", type=report_date, help="first order date, YYYY-MM-DD (default: end - 29 days)")
    p.add_argument("--end", type=report_date, help="last order date, YYYY-MM-DD (default: today, business time zone)")
    p.add_argument("--partner", help="only this partner's orders (partner UUID)")
    p.add_argument(
        "--service-category",
        help=f"{', '.join(registry.taking('service_category'))}: only the orders "
        "with an item of this category (item figures: only its lines)",
    )
    p.add_argument(
        "--city", help=f"{', '.join(registry.taking('city'))}: only the partners of this city (dim_partners.city)"
    )
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser(
        "cache",
        help="read, refresh or clean up analytics_cache",
        description="The precomputed payloads in analytics.analytics_cache.",
    )
    cache_sub = p.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    q = cache_sub.add_parser("get", help="print a cached payload (warns when it is stale)")
    q.add_argument("cache_type", choices=cache.cache_types())
    q.add_argument("--format", choices=["json", "table"], default="json")
    q.set_defaults(func=cmd_cache_get)
    q = cache_sub.add_parser("refresh", help="recompute cached payloads (all types by default)")
    q.add_argument("cache_types", nargs="*", metavar="TYPE", help=f"any of {', '.join(cache.cache_types())}")
    q.add_argument("--as-of", type=report_date, help="the 'today' of the payloads, YYYY-MM-DD (default: today)")
    q.set_defaults(func=cmd_cache_refresh)
    q = cache_sub.add_parser("cleanup", help="delete expired cache rows")
    q.set_defaults(func=cmd_cache_cleanup)


def _add_report_commands(sub) -> None:
    p = sub.add_parser(
        "reports",
        help="scheduled email reports: add, edit, list, show, pause, resume, delete, preview, send-now, deliveries",
        description="Manage report schedules. Every input is validated before anything is stored.",
    )
    p.set_defaults(func=cmd_reports)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_schedule_adding(actions)
    q = actions.add_parser(
        "edit",
        help="change a schedule's filters, recipients, format, time, time zone or description",
        description="Change only the fields given; the schedule is validated "
        "exactly as by add, and nothing is stored if a value is refused.",
    )
    q.add_argument("schedule", help="schedule name or id")
    q.add_argument("--filters", help="JSON object replacing the filters ('{}' removes them); keys as for add")
    q.add_argument("--recipients", help="comma-separated email addresses (replace the list)")
    q.add_argument("--format", help=_either(FORMATS))
    q.add_argument("--time", help="local time of day HH:MM")
    q.add_argument("--timezone", help="IANA zone")
    q.add_argument("--description")
    for action, text in (
        ("show", "print a schedule"),
        ("pause", "stop sending"),
        ("resume", "send again from the next tick"),
        ("delete", "delete a schedule and its history"),
        ("preview", "render the latest period's file without sending"),
        ("send-now", "send the latest period's report to one address only"),
    ):
        q = actions.add_parser(action, help=text)
        q.add_argument("schedule", help="schedule name or id")
        if action == "preview":
            q.add_argument("--out", type=Path, default=Path("report-preview"), help="folder (default ./report-preview)")
        if action == "send-now":
            q.add_argument("--to", required=True, help="the one address to send to")
    actions.add_parser("list", help="list schedules")
    q = actions.add_parser("deliveries", help="the delivery ledger, newest first")
    q.add_argument("schedule", nargs="?", help="only this schedule (name or id)")
    q.add_argument(
        "--limit",
        type=int_between(1, MAX_DELIVERIES_LISTED),
        default=50,
        help=f"at most this many rows, 1-{MAX_DELIVERIES_LISTED:,} (default 50)",
    )


def _add_schedule_adding(actions) -> None:
    q = actions.add_parser("add", help="add a schedule")
    q.add_argument("--name", required=True)
    q.add_argument("--description", default="")
    q.add_argument("--type", required=True, help=", ".join(report_types()))
    q.add_argument("--frequency", required=True, help=_either(FREQUENCIES))
    q.add_argument("--day-of-week", help="weekly: 0-6 (0 = Monday) or a day name")
    q.add_argument("--day-of-month", help="monthly/quarterly: 1-31 (clamped to the month's end) or 'last'")
    q.add_argument("--time", default="08:00", help="local time of day HH:MM (default 08:00)")
    q.add_argument("--timezone", default=None, help="IANA zone (default LAUNDRY_BUSINESS_TIMEZONE)")
    q.add_argument("--recipients", required=True, help="comma-separated email addresses")
    q.add_argument("--format", default=FORMATS[0], help=f"{_either(FORMATS)} (default {FORMATS[0]})")
    takers = filter_report_types()
    q.add_argument(
        "--filters",
        help="JSON object, keys: "
        + ", ".join(
            f"{key} ({'any type' if takers[key] == report_types() else ', '.join(takers[key])})" for key in takers
        )
        + "; values must exist in the marts",
    )
    q.add_argument(
        "--catch-up", default="latest", help=f"after downtime: {_either(CATCH_UP_POLICIES)} (default latest)"
    )
    q.add_argument(
        "--catch-up-cap",
        default=DEFAULT_CATCH_UP_CAP,
        help=f"catch-up all: at most this many missed periods (default {DEFAULT_CATCH_UP_CAP})",
    )
    q.add_argument("--send-if-empty", action="store_true", help="send even when the period had no orders")
    q.add_argument("--allow-pii", action="store_true", help="show customer names and emails unmasked")
    q.add_argument("--created-by", default=None, help="who is adding it (default: $USER)")
