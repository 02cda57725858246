"""`laundry-analytics demo`: the whole pipeline on a bare machine."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_cli.console import say
from laundry_cli.orchestration import materialize_all
from laundry_cli.warehouse import check_generation_options, generate_demo_data, print_where_things_are
from reports import runner, schedules

DEFAULT_DEMO_ORDERS = 50_000


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    now = check_generation_options(args)
    say("[1/4] starting the warehouse")
    info = database.ensure_database()
    say(
        f"    {'embedded PostgreSQL' if settings_module.load().pg_dsn is None else 'PostgreSQL'} "
        f"at {info.host} (database {info.dbname})"
    )
    say(f"[2/4] generating {args.orders:,} demo orders (seed {args.seed})")
    generate_demo_data(args, now)
    say("[3/4] materializing every asset through Dagster (dbt models, tests as checks, dashboard cache)")
    materialize_all("demo")
    say("[4/4] sending the demo report schedule's latest period (to the outbox unless SMTP is configured)")
    _send_demo_report()
    say(f"done in {time.monotonic() - started:.0f}s")
    print_where_things_are(info)
    return 0


DEMO_SCHEDULE = {
    "name": "Demo daily revenue",
    "description": "Created by `laundry-analytics demo`",
    "report_type": "revenue",
    "frequency": "daily",
    "time_of_day": "07:00",
    "format": "pdf",
    "recipients": "finance@laundryconnect.example",
    "created_by": "demo",
}


def _send_demo_report() -> None:
    """Create the demo schedule once and deliver its latest period through the
    same exactly-once path the sensor uses (a second demo run sends nothing new)."""
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
        say(f"    {outcome.file.file_name}: {len(outcome.file.content):,} bytes, sent to {', '.join(outcome.sent)}")
    else:
        say(f"    {outcome.period.label()} was delivered already ({', '.join(outcome.already_done)})")
