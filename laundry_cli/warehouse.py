"""Commands on the warehouse itself: create the ops schema, generate demo data,
say where everything is."""

from __future__ import annotations

import argparse
import datetime as dt

from laundry_analytics import database, ops_schema
from laundry_analytics import settings as settings_module
from laundry_analytics.generate import generate
from laundry_analytics.generate.inputs import DEFAULT_BLOCK_SIZE, anchor_now, check_arguments
from laundry_cli.console import fail, say


def cmd_init_db(args: argparse.Namespace) -> int:
    cfg = settings_module.load()
    info = database.ensure_database()
    with database.connect(info) as conn:
        ops_schema.create_ops_schema(conn, cfg.ops_schema)
    say(f"schema {cfg.ops_schema!r} is ready in database {info.dbname!r} ({info.host}:{info.port})")
    return 0


def check_generation_options(args: argparse.Namespace) -> dt.datetime:
    """Check the generation options before anything is touched and return the
    generator's clock (see `anchor_now`); ValueError says what to fix."""
    if args.start and args.end and args.start > args.end:
        fail(f"--start {args.start} is after --end {args.end}")
    anchor = anchor_now(args.end, args.now)
    check_arguments(
        orders=args.orders,
        start=args.start,
        end=args.end,
        now=anchor.now,
        messy_fraction=args.messy_fraction,
        block_size=DEFAULT_BLOCK_SIZE,
    )
    stamp = anchor.now.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if args.now is not None:
        say(f"    generator clock {stamp} (--now)")
    elif not anchor.from_wall_clock:
        say(f"    generator clock {stamp}, the end of --end {args.end} (the same arguments give the same rows)")
    else:
        say(f"    generator clock {stamp}, the start of the current UTC hour; to get these rows again later, run:")
        say(f"    {_command_with_clock(args, stamp)}")
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


def generate_demo_data(args: argparse.Namespace, now: dt.datetime) -> None:
    cfg = settings_module.load()
    info = database.ensure_database()
    with database.connect(info) as conn:
        ops_schema.create_ops_schema(conn, cfg.ops_schema)
        summary = generate(
            conn,
            schema=cfg.ops_schema,
            orders=args.orders,
            seed=args.seed,
            start=args.start,
            end=args.end,
            messy_fraction=args.messy_fraction,
            now=now,
            progress=lambda message: say(f"    {message}"),
        )
    rows = ", ".join(f"{table} {count:,}" for table, count in summary.rows.items())
    say(f"    loaded in {summary.seconds:.1f}s: {rows}")
    defects = sum(len(ids) for ids in summary.defects.values())
    if defects:
        say(f"    injected {defects:,} defective rows ({len(summary.defects)} kinds)")


def cmd_generate(args: argparse.Namespace) -> int:
    generate_demo_data(args, check_generation_options(args))
    return 0


def print_where_things_are(info: database.ConnectionInfo) -> None:
    cfg = settings_module.load()
    say("")
    say("Where things are:")
    say(f"  warehouse      {info.psql_command()}   (marts in schema {cfg.analytics_schema!r})")
    say(f"  Dagster home   {cfg.dagster_home}")
    say(f"  outbox         {cfg.outbox}")
    say("Open the Dagster UI:  laundry-analytics ui   then browse http://127.0.0.1:3000")


def cmd_info(args: argparse.Namespace) -> int:
    print_where_things_are(database.ensure_database())
    return 0
