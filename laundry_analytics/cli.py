"""`laundry-analytics`: the project's one command line.

Every subcommand validates its input before touching anything and exits with
code 2 and a message that says what to fix when the input is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from laundry_analytics import database, ops_schema
from laundry_analytics import settings as settings_module
from laundry_analytics.settings import PROJECT_ROOT

DEFAULT_DEMO_ORDERS = 50_000
MAX_DELIVERIES_LISTED = 10_000


def _say(message: str) -> None:
    print(message, flush=True)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")


def _iso_date(text: str) -> dt.date:
    # Only YYYY-MM-DD: date.fromisoformat alone also takes 20260101 and 2026-W01-1.
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def _generation_date(text: str) -> dt.date:
    from laundry_analytics.generate.inputs import check_date

    value = _iso_date(text)
    try:
        check_date("the date", value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _generation_clock(text: str) -> dt.datetime:
    """An ISO date and time, UTC unless it carries an offset."""
    from laundry_analytics.generate.inputs import check_date

    try:
        if not _ISO_DATETIME.fullmatch(text):
            raise ValueError
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time; write it as YYYY-MM-DDTHH:MM[:SS]"
                                         "[Z or +HH:MM], e.g. 2026-06-30T18:00:00Z") from None
    value = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    try:
        check_date("the clock's date", value.astimezone(dt.timezone.utc).date())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value.astimezone(dt.timezone.utc)


def _order_count(text: str) -> int:
    from laundry_analytics.generate.inputs import MAX_ORDERS, MAX_ORDERS_COST

    value = _positive_int(text)
    if value > MAX_ORDERS:
        raise argparse.ArgumentTypeError(
            f"{value:,} orders is more than the generator's limit of {MAX_ORDERS:,} ({MAX_ORDERS_COST})")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _report_date(text: str) -> dt.date:
    """A date of a query or cache range: exactly YYYY-MM-DD, in the years the
    payloads can compute a default window and a previous period for."""
    try:
        return settings_module.parse_iso_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and 0.5")
    return value


def prepare_dagster_home() -> str:
    """Create the Dagster home folder (SQLite storage unless configured otherwise)
    with the project's instance settings, upgrading an older dagster.yaml
    (dagster_project.instance), and export it."""
    from dagster_project.instance import write_instance_config

    home = settings_module.load().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    write_instance_config(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


# --- subcommands ---------------------------------------------------------------


def cmd_init_db(args: argparse.Namespace) -> int:
    cfg = settings_module.load()
    info = database.ensure_database()
    with database.connect(info) as conn:
        ops_schema.create_ops_schema(conn, cfg.ops_schema)
    _say(f"schema {cfg.ops_schema!r} is ready in database {info.dbname!r} ({info.host}:{info.port})")
    return 0


def _check_generation_options(args: argparse.Namespace) -> dt.datetime:
    """Check the generation options before anything is touched and return the
    generator's clock (see `anchor_now`); ValueError says what to fix."""
    from laundry_analytics.generate.inputs import DEFAULT_BLOCK_SIZE, anchor_now, check_arguments

    if args.start and args.end and args.start > args.end:
        _fail(f"--start {args.start} is after --end {args.end}")
    anchor = anchor_now(args.end, args.now)
    check_arguments(orders=args.orders, start=args.start, end=args.end, now=anchor.now,
                    messy_fraction=args.messy_fraction, block_size=DEFAULT_BLOCK_SIZE)
    stamp = anchor.now.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if args.now is not None:
        _say(f"    generator clock {stamp} (--now)")
    elif not anchor.from_wall_clock:
        _say(f"    generator clock {stamp}, the end of --end {args.end} (the same arguments give the same rows)")
    else:
        _say(f"    generator clock {stamp}, the start of the current UTC hour; to get these rows again later, run:")
        _say(f"    {_command_with_clock(args, stamp)}")
    return anchor.now


def _command_with_clock(args: argparse.Namespace, stamp: str) -> str:
    """The command line that regenerates the same rows at any time."""
    words = ["laundry-analytics", args.command, "--orders", str(args.orders), "--seed", str(args.seed)]
    for flag, value in (("--start", args.start), ("--end", args.end)):
        if value is not None:
            words += [flag, value.isoformat()]
    if args.messy_fraction:
        words += ["--messy-fraction", str(args.messy_fraction)]
    return " ".join([*words, "--now", stamp])


def _generate(args: argparse.Namespace, now: dt.datetime) -> None:
    from laundry_analytics.generate import generate

    cfg = settings_module.load()
    info = database.ensure_database()
    with database.connect(info) as conn:
        ops_schema.create_ops_schema(conn, cfg.ops_schema)
        summary = generate(
            conn, schema=cfg.ops_schema, orders=args.orders, seed=args.seed,
            start=args.start, end=args.end, messy_fraction=args.messy_fraction, now=now,
            progress=lambda message: _say(f"    {message}"),
        )
    rows = ", ".join(f"{table} {count:,}" for table, count in summary.rows.items())
    _say(f"    loaded in {summary.seconds:.1f}s: {rows}")
    defects = sum(len(ids) for ids in summary.defects.values())
    if defects:
        _say(f"    injected {defects:,} defective rows ({len(summary.defects)} kinds)")


def cmd_generate(args: argparse.Namespace) -> int:
    _generate(args, _check_generation_options(args))
    return 0


def materialize_all() -> None:
    """Materialize every asset through Dagster, recorded in the persistent instance
    so the runs, materializations and check results show in the UI."""
    prepare_dagster_home()
    from dagster import DagsterInstance

    from dagster_project.concurrency import running_refresh
    from dagster_project.definitions import defs
    from dagster_project.partitions import catch_up_run, daily_partitions
    from laundry_analytics.refresh_lock import running_message

    job = defs.resolve_job_def("all_assets_job")
    run = catch_up_run(daily_partitions())
    with DagsterInstance.get() as instance:
        # Refused at once rather than queued behind it: whoever runs this watches it.
        running = running_refresh(instance)
        if running:
            _fail(f"{running_message(running)}; try again when it has finished", code=1)
        result = job.execute_in_process(
            instance=instance,
            run_config={**run["run_config"], "loggers": {"console": {"config": {"log_level": "INFO"}}}},
            partition_key=run["partition_key"],
            raise_on_error=False,
        )
        if not result.success:
            _fail(f"the Dagster run {result.run_id} failed; open the UI (laundry-analytics ui) to see why", code=1)
        materialized = {
            event.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()
        }
        _say(f"    Dagster run {result.run_id}: {len(materialized)} assets materialized")


def cmd_materialize(args: argparse.Namespace) -> int:
    database.ensure_database()
    materialize_all()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    now = _check_generation_options(args)
    _say("[1/4] starting the warehouse")
    info = database.ensure_database()
    _say(f"    {'embedded PostgreSQL' if settings_module.load().pg_dsn is None else 'PostgreSQL'} "
         f"at {info.host} (database {info.dbname})")
    _say(f"[2/4] generating {args.orders:,} demo orders (seed {args.seed})")
    _generate(args, now)
    _say("[3/4] materializing every asset through Dagster (dbt models, tests as checks, dashboard cache)")
    materialize_all()
    _say("[4/4] sending the demo report schedule's latest period (to the outbox unless SMTP is configured)")
    _send_demo_report()
    _say(f"done in {time.monotonic() - started:.0f}s")
    _print_where_things_are(info)
    return 0


DEMO_SCHEDULE = {
    "name": "Demo daily revenue", "description": "Created by `laundry-analytics demo`",
    "report_type": "revenue", "frequency": "daily", "time_of_day": "07:00", "format": "pdf",
    "recipients": "finance@laundryconnect.example", "created_by": "demo",
}


def _send_demo_report() -> None:
    """Create the demo schedule once and deliver its latest period through the
    same exactly-once path the sensor uses (a second demo run sends nothing new)."""
    from reports import runner, schedules

    with database.connect() as conn:
        schedules.ensure_tables(conn)
        try:
            row = schedules.find(conn, DEMO_SCHEDULE["name"])
        except schedules.ScheduleError:
            spec = schedules.validate({**DEMO_SCHEDULE, "timezone": settings_module.load().business_timezone})
            row = schedules.add(conn, spec)
        spec = schedules.spec_of(row)
        tick = runner.latest_tick(spec, dt.datetime.now(dt.timezone.utc))
        outcome = runner.deliver(conn, str(row["schedule_id"]), tick)
    if outcome.file is not None:
        _say(f"    {outcome.file.file_name}: {len(outcome.file.content):,} bytes, sent to {', '.join(outcome.sent)}")
    else:
        _say(f"    {outcome.period.label()} was delivered already ({', '.join(outcome.already_done)})")


def _print_where_things_are(info: database.ConnectionInfo) -> None:
    cfg = settings_module.load()
    _say("")
    _say("Where things are:")
    _say(f"  warehouse      {info.psql_command()}   (marts in schema {cfg.analytics_schema!r})")
    _say(f"  Dagster home   {cfg.dagster_home}")
    _say(f"  outbox         {cfg.outbox}")
    _say("Open the Dagster UI:  laundry-analytics ui   then browse http://127.0.0.1:3000")


def cmd_info(args: argparse.Namespace) -> int:
    _print_where_things_are(database.ensure_database())
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    database.ensure_database()  # this process holds the embedded server while the UI runs
    prepare_dagster_home()
    from dagster_project.project import prepare_manifest

    prepare_manifest()
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    cmd = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    _say(f"Dagster UI on http://{args.host}:{args.port}  (Ctrl-C to stop)")
    try:
        return subprocess.call(cmd, cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return 0


def cmd_query(args: argparse.Namespace) -> int:
    from laundry_analytics.analytics import registry
    from laundry_analytics.analytics.arithmetic import to_jsonable

    data = to_jsonable(registry.payload(args.payload, args.start, args.end, args.partner,
                                        service_category=args.service_category, city=args.city))
    print(json.dumps(data, indent=2) if args.format == "json" else format_table(data))
    return 0


def cmd_cache_get(args: argparse.Namespace) -> int:
    from laundry_analytics import cache

    entry = cache.get(args.cache_type)
    if entry is None:
        _fail(f"no {args.cache_type} payload in analytics_cache: run `laundry-analytics cache refresh "
              f"{args.cache_type}` (or materialize the cache assets)", code=1)
    if not entry.is_fresh:
        print(f"laundry-analytics cache get: warning: stale: the {args.cache_type} payload expired at "
              f"{entry.expires_at:%Y-%m-%d %H:%M:%S %Z} (computed {entry.created_at:%Y-%m-%d %H:%M:%S %Z})",
              file=sys.stderr)
    print(cache.dumps(entry) if args.format == "json" else format_table(entry.data))
    return 0


def cmd_cache_refresh(args: argparse.Namespace) -> int:
    from laundry_analytics import cache

    cache_types = args.cache_types or cache.cache_types()
    unknown = sorted(set(cache_types) - set(cache.cache_types()))
    if unknown:
        _fail(f"unknown cache type {', '.join(unknown)}: choose from {', '.join(cache.cache_types())}")
    for cache_type in cache_types:
        entry = cache.refresh(cache_type, as_of=args.as_of)
        _say(f"{entry.cache_key}: refreshed, fresh until {entry.expires_at:%Y-%m-%d %H:%M:%S %Z}")
    return 0


def cmd_cache_cleanup(args: argparse.Namespace) -> int:
    from laundry_analytics import cache

    _say(f"{cache.cleanup()} expired cache rows deleted")
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


def cmd_reports(args: argparse.Namespace) -> int:
    """`reports ACTION`: manage report schedules (validated before anything is stored)."""
    from reports import runner, schedules

    with database.connect() as conn:
        schedules.ensure_tables(conn)
        if args.action == "add":
            spec = schedules.validate({
                "name": args.name, "description": args.description, "report_type": args.type,
                "frequency": args.frequency, "day_of_week": args.day_of_week, "day_of_month": args.day_of_month,
                "time_of_day": args.time, "timezone": args.timezone or settings_module.load().business_timezone,
                "recipients": args.recipients,
                "format": args.format, "filters": args.filters, "catch_up": args.catch_up,
                "catch_up_cap": args.catch_up_cap, "send_if_empty": args.send_if_empty,
                "allow_pii": args.allow_pii, "created_by": args.created_by or settings_module.load().user,
            }, conn=conn)
            row = schedules.add(conn, spec)
            _say(f"added {row['name']!r} ({row['schedule_id']}); first run {row['next_run_at']:%Y-%m-%d %H:%M %Z}")
        elif args.action == "edit":
            if all(value is None for value in (args.filters, args.recipients, args.format, args.time, args.timezone,
                                               args.description)):
                _fail("give at least one of --filters, --recipients, --format, --time, --timezone, --description")
            row, changed = schedules.edit(conn, args.schedule, {
                "filters": args.filters, "recipients": args.recipients, "format": args.format,
                "time_of_day": args.time, "timezone": args.timezone, "description": args.description})
            _say(f"changed {', '.join(changed) or 'nothing (the values were the same)'} of {row['name']!r}; next run "
                 f"{row['next_run_at']:%Y-%m-%d %H:%M %Z}")
        elif args.action == "list":
            for row in schedules.list_all(conn):
                state = "active" if row["is_active"] else "paused"
                _say(f"{row['schedule_id']}  {row['name']:<32} {row['report_type']:<9} {row['frequency']:<9} "
                     f"{row['format']:<5} {state:<6} next {row['next_run_at']:%Y-%m-%d %H:%M %Z}")
        elif args.action == "show":
            row = schedules.find(conn, args.schedule)
            for key, value in row.items():
                _say(f"{key:<14} {value}")
        elif args.action in ("pause", "resume"):
            row = schedules.set_active(conn, args.schedule, args.action == "resume")
            _say(f"{row['name']!r} is {'active' if row['is_active'] else 'paused'}; next run "
                 f"{row['next_run_at']:%Y-%m-%d %H:%M %Z}")
        elif args.action == "delete":
            row = schedules.delete(conn, args.schedule)
            _say(f"deleted {row['name']!r} and its delivery history")
        elif args.action == "preview":
            row = schedules.find(conn, args.schedule)
            _writable_folder(args.out, "--out", "give a folder you can write to (it is created if missing)")
            spec = schedules.spec_of(row)
            tick = runner.latest_tick(spec, dt.datetime.now(dt.timezone.utc))
            dataset, file = runner.render_report(spec, spec.cadence.period_of(tick), conn=conn)
            partial = args.out / f"{file.file_name}.part"
            partial.write_bytes(file.content)
            partial.replace(args.out / file.file_name)  # never a half-written report
            _say(f"{args.out / file.file_name}: {len(file.content):,} bytes, {file.rows:,} rows, "
                 f"period {dataset.period.label()} (nothing sent)")
        elif args.action == "send-now":
            try:  # the address first: nothing is rendered or recorded for a wrong one
                schedules.parse_address(args.to)
            except ValueError as error:
                _fail(f"--to: {error}")
            cfg = settings_module.load()
            if not cfg.smtp_host:  # the message goes to the outbox: a folder that can take it, before rendering
                _writable_folder(cfg.outbox, "the outbox", f"set {cfg.outbox_variable} to a folder you can write to "
                                 "(or LAUNDRY_SMTP_HOST to send by SMTP)")
            outcome = runner.send_now(conn, args.schedule, args.to)
            if outcome.failed:
                _fail(f"sending to {args.to} failed: {outcome.failed[next(iter(outcome.failed))]}", code=1)
            _say(f"sent {outcome.file.file_name} ({outcome.period.label()}) to {args.to}")
        elif args.action == "deliveries":
            for row in schedules.deliveries(conn, args.schedule, args.limit):
                _say(f"{row['claimed_at']:%Y-%m-%d %H:%M} {row['name']:<28} {row['period_start']}..{row['period_end']} "
                     f"{row['recipient']:<30} {row['status']:<14} attempts {row['attempts']} "
                     f"{row['error_class'] or ''} {row['error'] or ''}".rstrip())
    return 0


def _writable_folder(folder: Path, what: str, fix: str) -> None:
    """Create `folder` if missing and prove a file can be written in it, so a wrong
    path is refused before a report is rendered (and nothing is half-written)."""
    if folder.exists() and not folder.is_dir():
        _fail(f"{what} {folder} is a file, not a folder; {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        _fail(f"{what} {folder} cannot be written ({error.strerror or error}); {fix}")


def cmd_dbt(args: argparse.Namespace) -> int:
    from laundry_analytics.dbt_runner import run_dbt
    from laundry_analytics.refresh_lock import RefreshRunning

    try:
        return run_dbt(args.dbt_args, check=False).returncode
    except RefreshRunning as running:  # refused at once: whoever typed it can run it again
        _fail(f"{running}; try again when it has finished", code=1)


# --- parser --------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Refuses wrong arguments in one line (argparse's default puts the whole usage
    first, which buries the sentence that says what to fix)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Fail(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int = 2) -> None:
    raise _Fail(message, code)


def _add_generation_options(parser: argparse.ArgumentParser, default_orders: int) -> None:
    from laundry_analytics.generate.inputs import FIRST_DATE, LAST_DATE, MAX_ORDERS

    parser.add_argument("--orders", type=_order_count, default=default_orders,
                        help=f"number of orders, at most {MAX_ORDERS:,} (default {default_orders:,})")
    parser.add_argument("--seed", type=int, default=42,
                        help="random seed; same seed and clock, same data (default 42)")
    parser.add_argument("--start", type=_generation_date,
                        help=f"first order date, YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE} (default: end - 365 days)")
    parser.add_argument("--end", type=_generation_date,
                        help="last order date, YYYY-MM-DD (default: the day of the clock)")
    parser.add_argument("--now", type=_generation_clock,
                        help="the generator's clock, e.g. 2026-06-30T18:00:00Z (UTC unless an offset is given): "
                        "orders still open, refunds and reviews are as of this moment. Default: the end of --end "
                        "(00:00 UTC the next day) if that has passed, else the start of the current UTC hour "
                        "(printed, with the command that gives the same rows again)")
    parser.add_argument("--messy-fraction", type=_fraction, default=0.0,
                        help="share of rows given realistic defects, 0-0.5 (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="laundry-analytics",
        description="LaundryConnect analytics: demo data, dbt marts through Dagster, cache and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the main job: database, demo data, every asset through Dagster",
                       description="Start the warehouse (embedded if none configured), create the ops schema, "
                       "generate demo data and materialize every asset through Dagster.")
    _add_generation_options(p, DEFAULT_DEMO_ORDERS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("init-db", help="create the ops schema (idempotent)",
                       description="Create the operational schema and tables; running it again changes nothing.")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("generate", help="replace the ops data with a generated marketplace",
                       description="Generate a deterministic, realistic dataset and load it into the ops schema "
                       "with COPY (existing ops rows are replaced).")
    _add_generation_options(p, 10_000)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("materialize", help="materialize every asset through Dagster",
                       description="Run the all_assets_job in the persistent Dagster instance.")
    p.set_defaults(func=cmd_materialize)

    p = sub.add_parser("ui", help="open the Dagster UI (dagster dev)",
                       description="Run `dagster dev` on workspace.yaml with this project's settings.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_int_between(1, 65_535), default=3000, help="1-65535 (default 3000)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("info", help="print where the warehouse, Dagster home and outbox are",
                       description="Print connection and folder locations.")
    p.set_defaults(func=cmd_info)

    from laundry_analytics.analytics import registry
    from laundry_analytics.cache import cache_types
    from reports.schedule_validation import filter_report_types, report_types

    p = sub.add_parser("query", help="compute a dashboard payload for any range from the marts",
                       description="Compute a payload (the original dashboard endpoints) for a range of order "
                       "dates from the marts. Defaults: the last 30 days up to today, all partners.")
    p.add_argument("payload", choices=registry.payload_types())
    p.add_argument("--start", type=_report_date, help="first order date, YYYY-MM-DD (default: end - 29 days)")
    p.add_argument("--end", type=_report_date, help="last order date, YYYY-MM-DD (default: today, business time zone)")
    p.add_argument("--partner", help="only this partner's orders (partner UUID)")
    p.add_argument("--service-category", help=f"{', '.join(registry.taking('service_category'))}: only the orders "
                   "with an item of this category (item figures: only its lines)")
    p.add_argument("--city", help=f"{', '.join(registry.taking('city'))}: only the partners of this city "
                   "(dim_partners.city)")
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("cache", help="read, refresh or clean up analytics_cache",
                       description="The precomputed payloads in analytics.analytics_cache.")
    cache_sub = p.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    q = cache_sub.add_parser("get", help="print a cached payload (warns when it is stale)")
    q.add_argument("cache_type", choices=cache_types())
    q.add_argument("--format", choices=["json", "table"], default="json")
    q.set_defaults(func=cmd_cache_get)
    q = cache_sub.add_parser("refresh", help="recompute cached payloads (all types by default)")
    q.add_argument("cache_types", nargs="*", metavar="TYPE",
                   help=f"any of {', '.join(cache_types())}")
    q.add_argument("--as-of", type=_report_date, help="the 'today' of the payloads, YYYY-MM-DD (default: today)")
    q.set_defaults(func=cmd_cache_refresh)
    q = cache_sub.add_parser("cleanup", help="delete expired cache rows")
    q.set_defaults(func=cmd_cache_cleanup)

    p = sub.add_parser("reports", help="scheduled email reports: add, edit, list, show, pause, resume, delete, "
                       "preview, send-now, deliveries",
                       description="Manage report schedules. Every input is validated before anything is stored.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("add", help="add a schedule")
    q.add_argument("--name", required=True)
    q.add_argument("--description", default="")
    q.add_argument("--type", required=True, help=", ".join(report_types()))
    q.add_argument("--frequency", required=True, help="daily, weekly, monthly or quarterly")
    q.add_argument("--day-of-week", help="weekly: 0-6 (0 = Monday) or a day name")
    q.add_argument("--day-of-month", help="monthly/quarterly: 1-31 (clamped to the month's end) or 'last'")
    q.add_argument("--time", default="08:00", help="local time of day HH:MM (default 08:00)")
    q.add_argument("--timezone", default=None, help="IANA zone (default LAUNDRY_BUSINESS_TIMEZONE)")
    q.add_argument("--recipients", required=True, help="comma-separated email addresses")
    q.add_argument("--format", default="pdf", help="pdf, excel or csv (default pdf)")
    takers = filter_report_types()
    q.add_argument("--filters", help="JSON object, keys: " + ", ".join(
        f"{key} ({'any type' if takers[key] == report_types() else ', '.join(takers[key])})" for key in takers)
        + "; values must exist in the marts")
    q.add_argument("--catch-up", default="latest", help="after downtime: skip, latest (default) or all")
    q.add_argument("--catch-up-cap", default=3, help="catch-up all: at most this many missed periods (default 3)")
    q.add_argument("--send-if-empty", action="store_true", help="send even when the period had no orders")
    q.add_argument("--allow-pii", action="store_true", help="show customer names and emails unmasked")
    q.add_argument("--created-by", default=None, help="who is adding it (default: $USER)")
    q = actions.add_parser("edit", help="change a schedule's filters, recipients, format, time, time zone or "
                           "description", description="Change only the fields given; the schedule is validated "
                           "exactly as by add, and nothing is stored if a value is refused.")
    q.add_argument("schedule", help="schedule name or id")
    q.add_argument("--filters", help="JSON object replacing the filters ('{}' removes them); keys as for add")
    q.add_argument("--recipients", help="comma-separated email addresses (replace the list)")
    q.add_argument("--format", help="pdf, excel or csv")
    q.add_argument("--time", help="local time of day HH:MM")
    q.add_argument("--timezone", help="IANA zone")
    q.add_argument("--description")
    for action, text in (("show", "print a schedule"), ("pause", "stop sending"), ("resume", "send again from the "
                         "next tick"), ("delete", "delete a schedule and its history"),
                         ("preview", "render the latest period's file without sending"),
                         ("send-now", "send the latest period's report to one address only")):
        q = actions.add_parser(action, help=text)
        q.add_argument("schedule", help="schedule name or id")
        if action == "preview":
            q.add_argument("--out", type=Path, default=Path("report-preview"), help="folder (default ./report-preview)")
        if action == "send-now":
            q.add_argument("--to", required=True, help="the one address to send to")
    actions.add_parser("list", help="list schedules")
    q = actions.add_parser("deliveries", help="the delivery ledger, newest first")
    q.add_argument("schedule", nargs="?", help="only this schedule (name or id)")
    q.add_argument("--limit", type=_int_between(1, MAX_DELIVERIES_LISTED), default=50,
                   help=f"at most this many rows, 1-{MAX_DELIVERIES_LISTED:,} (default 50)")
    p.set_defaults(func=cmd_reports)

    p = sub.add_parser("dbt", help="run dbt on the project with the warehouse exported",
                       description="Pass the remaining arguments to dbt, e.g. `laundry-analytics dbt build`.")
    p.add_argument("dbt_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_dbt)
    return parser


def _warehouse_source() -> str:
    """Where the connection settings come from (read before a command exports the
    resolved connection as LAUNDRY_PG_DSN and PG* variables)."""
    cfg = settings_module.load()
    if cfg.pg_dsn:
        return "LAUNDRY_PG_DSN"
    if cfg.libpq.get("PGHOST"):
        return "the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)"
    return "the embedded server's folder (LAUNDRY_HOME)"


def _raised_connecting(error: psycopg.OperationalError) -> bool:
    """Whether the error came from opening a connection (the settings or the server's
    reachability), not from a statement on an open one (a server that failed)."""
    return any(frame.f_code.co_name == "connect" and frame.f_globals.get("__name__", "").startswith("psycopg")
               for frame, _ in traceback.walk_tb(error.__traceback__))


def _connection_failure(error: psycopg.OperationalError, source: str) -> str:
    reason = " ".join(str(error).split()).rsplit("failed: ", 1)[-1]  # libpq's cause, on one line
    pgconn = error.pgconn
    if pgconn is None:
        return f"cannot connect to the warehouse: {reason}; check {source}"
    host, port, dbname = ((part or b"").decode(errors="replace") for part in (pgconn.host, pgconn.port, pgconn.db))
    return f"cannot connect to database {dbname!r} on {host}:{port}: {reason}; check {source}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def refuse(message: str, code: int = 2) -> int:
        print(f"laundry-analytics {args.command}: error: {message}", file=sys.stderr)
        return code

    try:
        source = _warehouse_source()
        return args.func(args)
    except _Fail as failure:
        return refuse(str(failure), failure.code)
    except ValueError as error:  # validation inside the library (and settings): the input is wrong
        return refuse(str(error))
    except RecursionError:
        if getattr(args, "filters", None) is None:
            raise  # not the JSON a user gave: a bug
        return refuse("--filters is nested too deeply to read; give a flat JSON object, e.g. "
                      "'{\"city\": \"Lisbon\"}'")
    except psycopg.OperationalError as error:
        if not _raised_connecting(error):
            raise  # the server failed during the command: not the configuration
        return refuse(_connection_failure(error, source))
    except OSError as error:
        if error.filename is None:
            raise
        return refuse(f"{error.filename}: {error.strerror or error}; check the path and its permissions")


if __name__ == "__main__":
    sys.exit(main())
