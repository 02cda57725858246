"""`laundry-analytics reports ACTION`: manage report schedules, each validated
before anything is stored (reports.schedule_validation)."""

from __future__ import annotations

import argparse
import datetime as dt

import psycopg

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_cli.console import fail, say, writable_folder
from reports import runner, schedules


def cmd_reports(args: argparse.Namespace) -> int:
    with database.connect() as conn:
        schedules.ensure_tables(conn)
        ACTIONS[args.action](conn, args)
    return 0


def _add(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    cfg = settings_module.load()
    spec = schedules.validate(
        {
            "name": args.name,
            "description": args.description,
            "report_type": args.type,
            "frequency": args.frequency,
            "day_of_week": args.day_of_week,
            "day_of_month": args.day_of_month,
            "time_of_day": args.time,
            "timezone": args.timezone or cfg.business_timezone,
            "recipients": args.recipients,
            "format": args.format,
            "filters": args.filters,
            "catch_up": args.catch_up,
            "catch_up_cap": args.catch_up_cap,
            "send_if_empty": args.send_if_empty,
            "allow_pii": args.allow_pii,
            "created_by": args.created_by or cfg.user,
        },
        conn=conn,
    )
    row = schedules.add(conn, spec)
    say(f"added {row['name']!r} ({row['schedule_id']}); first run {row['next_run_at']:%Y-%m-%d %H:%M %Z}")


def _edit(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    if all(
        value is None
        for value in (args.filters, args.recipients, args.format, args.time, args.timezone, args.description)
    ):
        fail("give at least one of --filters, --recipients, --format, --time, --timezone, --description")
    row, changed = schedules.edit(
        conn,
        args.schedule,
        {
            "filters": args.filters,
            "recipients": args.recipients,
            "format": args.format,
            "time_of_day": args.time,
            "timezone": args.timezone,
            "description": args.description,
        },
    )
    say(
        f"changed {', '.join(changed) or 'nothing (the values were the same)'} of {row['name']!r}; next run "
        f"{row['next_run_at']:%Y-%m-%d %H:%M %Z}"
    )


def _list(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    for row in schedules.list_all(conn):
        state = "active" if row["is_active"] else "paused"
        say(
            f"{row['schedule_id']}  {row['name']:<32} {row['report_type']:<9} {row['frequency']:<9} "
            f"{row['format']:<5} {state:<6} next {row['next_run_at']:%Y-%m-%d %H:%M %Z}"
        )


def _show(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    for key, value in schedules.find(conn, args.schedule).items():
        say(f"{key:<14} {value}")


def _pause_or_resume(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    row = schedules.set_active(conn, args.schedule, args.action == "resume")
    say(
        f"{row['name']!r} is {'active' if row['is_active'] else 'paused'}; next run "
        f"{row['next_run_at']:%Y-%m-%d %H:%M %Z}"
    )


def _delete(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    row = schedules.delete(conn, args.schedule)
    say(f"deleted {row['name']!r} and its delivery history")


def _preview(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    row = schedules.find(conn, args.schedule)
    writable_folder(args.out, "--out", "give a folder you can write to (it is created if missing)")
    spec = schedules.spec_of(row)
    tick = runner.latest_tick(spec, dt.datetime.now(dt.timezone.utc))
    dataset, file = runner.render_report(spec, spec.cadence.period_of(tick), conn=conn)
    partial = args.out / f"{file.file_name}.part"
    partial.write_bytes(file.content)
    partial.replace(args.out / file.file_name)  # never a half-written report
    say(
        f"{args.out / file.file_name}: {len(file.content):,} bytes, {file.rows:,} row{'' if file.rows == 1 else 's'}, "
        f"period {dataset.period.label()} (nothing sent)"
    )


def _send_now(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    try:  # the address first: nothing is rendered or recorded for a wrong one
        schedules.parse_address(args.to)
    except ValueError as error:
        fail(f"--to: {error}")
    cfg = settings_module.load()
    if not cfg.smtp_host:  # the message goes to the outbox: a folder that can take it, before rendering
        writable_folder(
            cfg.outbox,
            "the outbox",
            f"set {cfg.outbox_variable} to a folder you can write to (or LAUNDRY_SMTP_HOST to send by SMTP)",
        )
    outcome = runner.send_now(conn, args.schedule, args.to)
    if outcome.failed:
        fail(f"sending to {args.to} failed: {outcome.failed[next(iter(outcome.failed))]}", code=1)
    say(f"sent {outcome.file.file_name} ({outcome.period.label()}) to {args.to}")


def _deliveries(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    for row in schedules.deliveries(conn, args.schedule, args.limit):
        say(
            f"{row['claimed_at']:%Y-%m-%d %H:%M} {row['name']:<28} {row['period_start']}..{row['period_end']} "
            f"{row['recipient']:<30} {row['status']:<14} attempts {row['attempts']} "
            f"{row['error_class'] or ''} {row['error'] or ''}".rstrip()
        )


ACTIONS = {
    "add": _add,
    "edit": _edit,
    "list": _list,
    "show": _show,
    "pause": _pause_or_resume,
    "resume": _pause_or_resume,
    "delete": _delete,
    "preview": _preview,
    "send-now": _send_now,
    "deliveries": _deliveries,
}
