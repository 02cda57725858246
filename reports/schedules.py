"""Report schedules: storing, finding, changing and deleting them (the operations
the CLI offers), each validated first (reports.schedule_validation) and kept in
analytics.report_schedules (reports.schedule_tables)."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from laundry_analytics.analytics_schema import compose
from laundry_analytics.plain_text import check_plain_text
from reports.schedule_tables import ensure_tables
from reports.schedule_validation import ScheduleError, ScheduleSpec, parse_address, refusal, validate

__all__ = [
    "EDITABLE",
    "ScheduleError",
    "ScheduleSpec",
    "add",
    "delete",
    "deliveries",
    "edit",
    "ensure_tables",
    "find",
    "list_all",
    "parse_address",
    "set_active",
    "spec_of",
    "validate",
]


def add(conn: psycopg.Connection, spec: ScheduleSpec, *, now: dt.datetime | None = None) -> dict:
    """Store a validated schedule with its first next_run_at. Returns the row."""
    ensure_tables(conn)
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        row = (
            conn.cursor(row_factory=dict_row)
            .execute(
                compose("""
            insert into {a}.report_schedules (name, description, report_type, frequency, day_of_week, day_of_month,
                time_of_day, timezone, recipients, format, filters, catch_up, catch_up_cap, send_if_empty,
                allow_pii, created_by, next_run_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            returning *
        """),
                (
                    spec.name,
                    spec.description,
                    spec.report_type,
                    spec.frequency,
                    spec.day_of_week,
                    spec.day_of_month,
                    spec.time_of_day,
                    spec.timezone,
                    spec.recipients,
                    spec.format,
                    Jsonb(spec.filters),
                    spec.catch_up,
                    spec.catch_up_cap,
                    spec.send_if_empty,
                    spec.allow_pii,
                    spec.created_by,
                    spec.cadence.next_tick(now),
                ),
            )
            .fetchone()
        )
    except psycopg.errors.UniqueViolation:
        conn.rollback()
        raise ScheduleError(
            refusal([f"name: a schedule named {spec.name!r} exists already; choose another name"])
        ) from None
    conn.commit()
    return row


EDITABLE = ("filters", "recipients", "format", "time_of_day", "timezone", "description")
"""The fields `edit` changes; the others define what a schedule is (its name,
report type and cadence): to change them, add a new schedule."""


def edit(conn: psycopg.Connection, key: str, changes: dict) -> tuple[dict, list[str]]:
    """Change the given EDITABLE fields of a schedule (None: unchanged), validated
    exactly as `add` validates (the whole schedule, through `validate`); nothing
    is stored when a value is refused. A new time or time zone moves the pending
    tick to the new time on the same local date, so its period is still sent.
    Returns the stored row and the names of the fields that changed."""
    row = find(conn, key)
    given = {name: value for name, value in changes.items() if value is not None}
    unknown = sorted(set(given) - set(EDITABLE))
    if unknown or not given:
        raise ScheduleError(
            f"give at least one field to change, of: {', '.join(EDITABLE)}"
            + (f" (not {', '.join(unknown)})" if unknown else "")
        )
    old = spec_of(row)
    spec = validate({**_raw_of(old), **given}, conn=conn)
    changed = [name for name in EDITABLE if getattr(spec, name) != getattr(old, name)]
    next_run = row["next_run_at"]
    if next_run is not None and {"time_of_day", "timezone"} & set(changed):
        next_run = spec.cadence.tick_on(old.cadence.local_date(next_run))
    conn.execute(
        compose("""
        update {a}.report_schedules
        set filters = %s, recipients = %s, format = %s, time_of_day = %s, timezone = %s, description = %s,
            next_run_at = %s, updated_at = now()
        where schedule_id = %s
    """),
        (
            Jsonb(spec.filters),
            spec.recipients,
            spec.format,
            spec.time_of_day,
            spec.timezone,
            spec.description,
            next_run,
            row["schedule_id"],
        ),
    )
    conn.commit()
    return find(conn, str(row["schedule_id"])), changed


def _raw_of(spec: ScheduleSpec) -> dict:
    """A stored schedule as `validate` input."""
    return {name: getattr(spec, name) for name in ScheduleSpec.__dataclass_fields__}


def find(conn: psycopg.Connection, key: str) -> dict:
    """A schedule by id or name, or ScheduleError."""
    if not isinstance(key, str) or not key.strip():
        raise ScheduleError("give a schedule name or id: `laundry-analytics reports list` shows them")
    try:
        check_plain_text(key, "a schedule name or id", 200)
    except ValueError as error:  # no stored name holds such text (names are checked when added)
        raise ScheduleError(f"no schedule {key!r}: {error}") from None
    ensure_tables(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        try:
            schedule_id = uuid.UUID(key)
            row = cur.execute(
                compose("select * from {a}.report_schedules where schedule_id = %s"), (schedule_id,)
            ).fetchone()
        except ValueError:
            row = cur.execute(compose("select * from {a}.report_schedules where name = %s"), (key,)).fetchone()
    if row is None:
        raise ScheduleError(f"no schedule {key!r}: `laundry-analytics reports list` shows names and ids")
    return row


def list_all(conn: psycopg.Connection) -> list[dict]:
    ensure_tables(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(compose("select * from {a}.report_schedules order by name")).fetchall()


def set_active(conn: psycopg.Connection, key: str, active: bool, *, now: dt.datetime | None = None) -> dict:
    """Pause or resume. Resuming restarts from the next tick after now: the ticks
    missed while paused are not caught up."""
    schedule = find(conn, key)
    next_run = spec_of(schedule).cadence.next_tick(now or dt.datetime.now(dt.timezone.utc))
    conn.execute(
        compose("""
        update {a}.report_schedules
        set is_active = %s, next_run_at = case when %s then %s else next_run_at end, updated_at = now()
        where schedule_id = %s
    """),
        (active, active, next_run, schedule["schedule_id"]),
    )
    conn.commit()
    return find(conn, str(schedule["schedule_id"]))


def delete(conn: psycopg.Connection, key: str) -> dict:
    schedule = find(conn, key)
    conn.execute(compose("delete from {a}.report_schedules where schedule_id = %s"), (schedule["schedule_id"],))
    conn.commit()
    return schedule


def deliveries(conn: psycopg.Connection, key: str | None = None, limit: int = 50) -> list[dict]:
    ensure_tables(conn)
    where, params = sql.SQL(""), []
    if key is not None:  # '' is refused by find(), not read as "every schedule"
        where, params = sql.SQL("where d.schedule_id = %s"), [find(conn, key)["schedule_id"]]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            compose(
                """
            select s.name, d.* from {a}.report_deliveries d
            join {a}.report_schedules s using (schedule_id)
            {where} order by d.created_at desc, d.delivery_id desc limit %s
        """,
                where=where,
            ),
            [*params, limit],
        ).fetchall()


def spec_of(row: dict) -> ScheduleSpec:
    """The spec of a stored schedule row."""
    return ScheduleSpec(
        name=row["name"],
        report_type=row["report_type"],
        frequency=row["frequency"],
        time_of_day=row["time_of_day"],
        timezone=row["timezone"],
        recipients=list(row["recipients"]),
        format=row["format"],
        created_by=row["created_by"],
        description=row["description"],
        day_of_week=row["day_of_week"],
        day_of_month=row["day_of_month"],
        filters=dict(row["filters"]),
        catch_up=row["catch_up"],
        catch_up_cap=row["catch_up_cap"],
        send_if_empty=row["send_if_empty"],
        allow_pii=row["allow_pii"],
    )
