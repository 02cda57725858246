"""`report_schedules` and `report_deliveries`: the tables, the validation of every
field before anything is stored, and the operations the CLI offers.

Both tables live in the analytics schema (analysts can read them); the project
creates them (`ensure_tables`). A delivery row is the ledger entry of one
(schedule, period, recipient): claimed before sending, so a retried or relaunched
run never sends it twice, and always in one of DELIVERY_STATUSES.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.errors import HeaderParseError
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from laundry_analytics import settings as settings_module
from laundry_analytics import windows
from reports.periods import FREQUENCIES, Cadence

REPORT_TYPES = ("revenue", "orders", "partners", "customers")
FORMATS = ("pdf", "excel", "csv")
CATCH_UP_POLICIES = ("skip", "latest", "all")
DEFAULT_CATCH_UP_CAP = 3
MAX_RECIPIENTS = 50
FILTER_KEYS = {
    "window_days": "int 1-366: report on the N days ending at the period's end instead of the period",
    "partner_id": "a partner UUID from analytics.dim_partners: only its orders (customers: its customers)",
    "city": "a partner city from analytics.dim_partners: only its partners and their orders (partners report)",
    "service_category": "a service category name: only the orders with an item of it, and only its lines in "
                        "item tables (revenue and orders reports)",
}
FILTER_REPORT_TYPES = {
    "window_days": REPORT_TYPES,
    "partner_id": REPORT_TYPES,
    **{key: tuple(t for t in REPORT_TYPES if key in windows.PAYLOAD_FILTERS[t])
       for key in ("city", "service_category")},
}
"""The report types whose every figure honours each filter key: the query API
applies city and service_category only to the payloads listed in
windows.PAYLOAD_FILTERS. A key another type could not honour is refused."""
FILTER_REFUSALS = {
    "city": "its figures are not computed per partner city (only the partners report's are)",
    "service_category": {
        "partners": "partner figures (counts, rates, durations, rankings) cover a partner's orders whatever their "
                    "items, so no figure could be limited to one category",
        "customers": "customer figures (segments, lifetime value, churn risk) cover all of a customer's orders, "
                     "whatever their items, so no figure could be limited to one category",
    },
}
"""Why a report type refuses a filter key it does not apply, for the refusal message."""

DDL = """
create table if not exists {schema}.report_schedules (
    schedule_id uuid primary key default gen_random_uuid(),
    name text not null unique check (length(trim(name)) between 1 and 200),
    description text not null default '',
    report_type text not null check (report_type in ('revenue', 'orders', 'partners', 'customers')),
    frequency text not null check (frequency in ('daily', 'weekly', 'monthly', 'quarterly')),
    day_of_week smallint check (day_of_week between 0 and 6),
    day_of_month smallint check (day_of_month between 1 and 31),
    time_of_day time not null,
    timezone text not null,
    recipients text[] not null check (cardinality(recipients) between 1 and 50),
    format text not null check (format in ('pdf', 'excel', 'csv')),
    filters jsonb not null default '{{}}',
    catch_up text not null default 'latest' check (catch_up in ('skip', 'latest', 'all')),
    catch_up_cap smallint not null default 3 check (catch_up_cap between 1 and 100),
    send_if_empty boolean not null default false,
    allow_pii boolean not null default false,
    is_active boolean not null default true,
    last_run_at timestamptz,
    next_run_at timestamptz,
    created_by text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (frequency <> 'weekly' or day_of_week is not null),
    check (frequency not in ('monthly', 'quarterly') or day_of_month is not null)
);
create index if not exists report_schedules_due_idx on {schema}.report_schedules (is_active, next_run_at);

create table if not exists {schema}.report_deliveries (
    delivery_id bigint generated always as identity primary key,
    schedule_id uuid not null references {schema}.report_schedules on delete cascade,
    kind text not null default 'scheduled' check (kind in ('scheduled', 'manual')),
    period_start date not null,
    period_end date not null,
    recipient text not null,
    status text not null check (status in ({statuses})),
    attempts smallint not null default 0,
    error_class text,
    error text,
    message_id text,
    file_name text,
    format text,
    bytes bigint,
    sha256 text,
    rows integer,
    data_refreshed_at timestamptz,
    data_incomplete boolean not null default false,
    run_id text,
    scheduled_for timestamptz,
    created_at timestamptz not null default now(),
    claimed_at timestamptz not null default now(),
    next_attempt_at timestamptz,
    launches smallint not null default 0,
    finished_at timestamptz
);
-- Ledgers created before the retry states: add their columns and statuses once.
do $$ begin
    if not exists (select from pg_attribute where attrelid = '{schema}.report_deliveries'::regclass
                   and attname = 'next_attempt_at') then
        alter table {schema}.report_deliveries
            add column if not exists created_at timestamptz not null default now(),
            add column if not exists next_attempt_at timestamptz,
            add column if not exists launches smallint not null default 0,
            drop constraint if exists report_deliveries_status_check,
            add constraint report_deliveries_status_check check (status in ({statuses}));
        -- claims left by runs of the old code: relaunched once stale (its timeout was 10 minutes)
        update {schema}.report_deliveries set next_attempt_at = claimed_at + interval '10 minutes'
        where status = 'claimed';
    end if;
end $$;
create unique index if not exists report_deliveries_once_idx
    on {schema}.report_deliveries (schedule_id, period_start, recipient) where kind = 'scheduled';
create index if not exists report_deliveries_schedule_idx on {schema}.report_deliveries (schedule_id, claimed_at);
create index if not exists report_deliveries_open_idx on {schema}.report_deliveries (next_attempt_at)
    where status in ('queued', 'claimed', 'retrying');
"""
DELIVERY_STATUSES = {
    "queued": "due; the sensor launched (or is about to launch) a run for it",
    "claimed": "a run is sending it (claimed_at); relaunched if that run dies (next_attempt_at)",
    "sent": "accepted by the SMTP server (or written to the outbox when no server is set)",
    "kept_in_outbox": "sent without the file, over the attachment limit; the file is in the outbox",
    "retrying": "failed transiently (error); tried again at next_attempt_at until the deadline",
    "failed": "failed for good (error_class, error): a permanent error or the deadline passed",
    "skipped": "not sent on purpose (error: why)",
}
"""Every state of a scheduled delivery, with what it means (reports.runner moves
rows between them)."""


def _schema() -> sql.Identifier:
    return sql.Identifier(settings_module.load().analytics_schema)


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create the schedule and delivery tables if missing; readable by analysts."""
    cfg = settings_module.load()
    conn.execute(sql.SQL("create schema if not exists {}").format(_schema()))
    statuses = sql.SQL(", ").join(map(sql.Literal, DELIVERY_STATUSES))
    conn.execute(sql.SQL(DDL).format(schema=_schema(), statuses=statuses))
    if conn.execute("select 1 from pg_roles where rolname = %s", (cfg.analyst_role,)).fetchone():
        for table in ("report_schedules", "report_deliveries"):
            conn.execute(sql.SQL("grant select on {}.{} to {}").format(
                _schema(), sql.Identifier(table), sql.Identifier(cfg.analyst_role)))
    conn.commit()


# --- validation -----------------------------------------------------------------------


class ScheduleError(ValueError):
    """Invalid schedule input; the message lists every field to fix."""


@dataclass
class ScheduleSpec:
    """A validated schedule, ready to store."""

    name: str
    report_type: str
    frequency: str
    time_of_day: dt.time
    timezone: str
    recipients: list[str]
    format: str
    created_by: str
    description: str = ""
    day_of_week: int | None = None
    day_of_month: int | None = None
    filters: dict = field(default_factory=dict)
    catch_up: str = "latest"
    catch_up_cap: int = DEFAULT_CATCH_UP_CAP
    send_if_empty: bool = False
    allow_pii: bool = False

    @property
    def cadence(self) -> Cadence:
        return Cadence(self.frequency, self.time_of_day, self.timezone, self.day_of_week, self.day_of_month)


def validate(raw: dict, *, conn: psycopg.Connection | None = None) -> ScheduleSpec:
    """Check every field of a schedule; raise ScheduleError naming each bad field
    and what to write instead. `raw` holds text or typed values (from the CLI)."""
    problems: list[str] = []

    def check(name: str, fn):
        try:
            return fn(raw.get(name))
        except ValueError as error:
            problems.append(f"{name.replace('_', '-')}: {error}")
            return None

    name = check("name", _name)
    report_type = check("report_type", lambda v: _choice(v, REPORT_TYPES))
    frequency = check("frequency", lambda v: _choice(v, FREQUENCIES))
    day_of_week = check("day_of_week", lambda v: _day_of_week(v, frequency))
    day_of_month = check("day_of_month", lambda v: _day_of_month(v, frequency))
    time_of_day = check("time_of_day", _time_of_day)
    timezone = check("timezone", _timezone)
    recipients = check("recipients", _recipients)
    fmt = check("format", lambda v: _choice(v, FORMATS))
    filters = check("filters", lambda v: _filters(v, conn, report_type))
    catch_up = check("catch_up", lambda v: _choice(v or "latest", CATCH_UP_POLICIES))
    catch_up_cap = check("catch_up_cap", lambda v: _int_range(v if v is not None else DEFAULT_CATCH_UP_CAP, 1, 100))
    description = check("description", lambda v: check_plain_text(v or "", "description", 2000))
    created_by = check("created_by", lambda v: check_plain_text(v or "cli", "created-by", 200))
    if problems:
        raise ScheduleError("invalid schedule, nothing was stored:\n  " + "\n  ".join(problems))
    return ScheduleSpec(
        name=name, report_type=report_type, frequency=frequency, time_of_day=time_of_day, timezone=timezone,
        recipients=recipients, format=fmt, created_by=created_by, description=description,
        day_of_week=day_of_week, day_of_month=day_of_month, filters=filters, catch_up=catch_up,
        catch_up_cap=catch_up_cap, send_if_empty=bool(raw.get("send_if_empty")), allow_pii=bool(raw.get("allow_pii")),
    )


def _choice(value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
    return value


def _name(value) -> str:
    text = check_plain_text(value or "", "name", 200).strip()
    if not text:
        raise ValueError("give the schedule a name")
    if _is_id(text):
        raise ValueError(f"a schedule name may not look like an id (a UUID), as {text!r} does: `show`, `pause` "
                         "and the others would read it as one; choose a name in words")
    return text


_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Characters that do not belong in one line of text: the C0 and C1 controls (ESC,
which starts terminal escape sequences, and all the line breaks `str.splitlines`
knows but U+2028 and U+2029, which are listed too), the bidirectional embeddings,
overrides and isolates (text that displays other than it reads), and lone
surrogates (bytes that were not UTF-8)."""


def check_plain_text(value, what: str, limit: int) -> str:
    """`value` if it is text of at most `limit` characters on one line with no control
    characters, else ValueError naming `what` and the character to remove. Free text
    ends up in email subjects and bodies, file names and terminals: no header
    injection, no escape sequences, nothing that displays differently from what it is."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    found = _UNSAFE_TEXT.search(value)
    if found is None:
        return value
    char = found.group()
    if len(f"a{char}b".splitlines()) > 1:
        raise ValueError(f"{what} must be one line (no line breaks)")
    if unicodedata.category(char) == "Cs":
        raise ValueError(f"{what} is not valid text (it holds bytes that are not UTF-8)")
    kind = "bidirectional control" if unicodedata.category(char) == "Cf" else "control character"
    if char == "\x1b":
        kind = "escape character (terminal escape sequence)"
    raise ValueError(f"{what} contains the {kind} U+{ord(char):04X}; remove it")


def _is_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _int_range(value, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ValueError(f"{number} is not between {low} and {high}")
    return number


def _day_of_week(value, frequency) -> int | None:
    if frequency != "weekly":
        if value is not None:
            raise ValueError("only weekly schedules take a day of week")
        return None
    if value is None:
        raise ValueError("a weekly schedule needs --day-of-week 0-6 (0 = Monday)")
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    if isinstance(value, str) and value.lower() in names:
        return names.index(value.lower())
    return _int_range(value, 0, 6)


def _day_of_month(value, frequency) -> int | None:
    if frequency not in ("monthly", "quarterly"):
        if value is not None:
            raise ValueError("only monthly and quarterly schedules take a day of month")
        return None
    if value is None:
        raise ValueError("a monthly or quarterly schedule needs --day-of-month 1-31 or 'last'")
    if isinstance(value, str) and value.lower() == "last":
        return 31  # clamped to each month's last day
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"{value!r} is not a day of the month; write 1-31 or 'last'")
    return _int_range(value, 1, 31)


def _time_of_day(value) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time; write HH:MM, 24-hour, e.g. 08:00")
    return dt.time.fromisoformat(value)


def _timezone(value) -> str:
    if not isinstance(value, str) or value not in available_timezones():
        raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/Lisbon or America/New_York")
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError:
        raise ValueError(f"{value!r} is not an IANA time zone") from None
    return value


_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
"""A DNS label as mail servers accept it (RFC 5321's sub-domain): letters, digits and
inner hyphens, 1-63 characters; international names go in their xn-- form."""


def parse_address(text: str) -> str:
    """One email address, normalised (domain lower-cased), or ValueError. Within the
    limits of RFC 5321: 64 characters before the @, 63 per domain label, 254 in all."""
    if (not isinstance(text, str) or _UNSAFE_TEXT.search(text) or any(c in text for c in ",;<>\"")
            or not text.strip()):
        raise ValueError(f"{text!r} is not a plain email address (user@example.com)")
    text = text.strip()
    if len(text) > 254:
        raise ValueError(f"{text[:40]!r}... is {len(text)} characters; an email address has at most 254")
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        raise ValueError(f"{text!r} is not a valid email address") from None
    if not address.username or "." not in address.domain or address.addr_spec != text:
        raise ValueError(f"{text!r} is not a valid email address (user@example.com)")
    if len(address.username) > 64:
        raise ValueError(f"{text!r}: the part before @ is {len(address.username)} characters; at most 64 are allowed")
    for label in address.domain.split("."):
        if not _DOMAIN_LABEL.fullmatch(label):
            raise ValueError(f"{text!r}: {label[:70]!r} is not a domain name part (letters, digits and inner "
                             "hyphens, at most 63 characters)")
    allowed = settings_module.load().recipient_domains
    domain = address.domain.lower()
    if allowed and domain not in allowed:
        raise ValueError(f"{text!r}: domain {domain} is not in LAUNDRY_RECIPIENT_DOMAINS ({', '.join(allowed)})")
    return f"{address.username}@{domain}"


def _recipients(value) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    if not all(isinstance(item, str) for item in items):
        raise ValueError("give the recipients as text (comma-separated addresses)")
    items = [item.strip() for item in items if item.strip()]
    if not items:
        raise ValueError("give at least one recipient (comma-separated)")
    if len(items) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    addresses = [parse_address(item) for item in items]
    duplicates = sorted({a for a in addresses if addresses.count(a) > 1})
    if duplicates:
        raise ValueError(f"listed twice: {', '.join(duplicates)}")
    return addresses


def _filters(value, conn: psycopg.Connection | None, report_type: str | None = None) -> dict:
    """The validated filters; with `report_type` (None when it is itself invalid),
    only the keys that report type applies (FILTER_REPORT_TYPES)."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg}); e.g. '{{\"city\": \"Lisbon\"}}'") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        raise ValueError(f"unknown key {', '.join(unknown)}; allowed: "
                         + "; ".join(f"{k} ({v})" for k, v in FILTER_KEYS.items()))
    irrelevant = sorted(k for k in value if report_type and report_type not in FILTER_REPORT_TYPES[k])
    if irrelevant:
        raise ValueError("; ".join(f"{k} applies only to {' and '.join(FILTER_REPORT_TYPES[k])} reports, not to "
                                   f"{report_type} reports: {_refusal(k, report_type)}" for k in irrelevant))
    filters = {}
    if "window_days" in value:
        if isinstance(value["window_days"], bool) or not isinstance(value["window_days"], int):
            raise ValueError("window_days must be a whole number")
        filters["window_days"] = _int_range(value["window_days"], 1, 366)
    for key in ("city", "service_category"):
        if key in value:
            if not isinstance(value[key], str) or not value[key].strip() or len(value[key]) > 200:
                raise ValueError(f"{key} must be non-empty text")
            filters[key] = value[key].strip()
    if "partner_id" in value:
        filters["partner_id"] = _partner_id(value["partner_id"], conn)
    if conn is not None:  # values that match nothing in the marts are refused, with the nearest valid ones
        for key in ("city", "service_category"):
            windows.check_filter_value(conn, key, filters.get(key))
        if filters.get("partner_id") and filters.get("city"):
            windows.check_partner_in_city(conn, filters["partner_id"], filters["city"])
    return filters


def _refusal(key: str, report_type: str) -> str:
    reason = FILTER_REFUSALS[key]
    return reason[report_type] if isinstance(reason, dict) else reason


def _partner_id(value, conn: psycopg.Connection | None) -> str:
    if conn is not None:
        return windows.check_partner(conn, value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"partner_id {value!r} is not a UUID") from None


# --- storage --------------------------------------------------------------------------


def add(conn: psycopg.Connection, spec: ScheduleSpec, *, now: dt.datetime | None = None) -> dict:
    """Store a validated schedule with its first next_run_at. Returns the row."""
    ensure_tables(conn)
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        row = conn.cursor(row_factory=dict_row).execute(sql.SQL("""
            insert into {}.report_schedules (name, description, report_type, frequency, day_of_week, day_of_month,
                time_of_day, timezone, recipients, format, filters, catch_up, catch_up_cap, send_if_empty,
                allow_pii, created_by, next_run_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            returning *
        """).format(_schema()), (
            spec.name, spec.description, spec.report_type, spec.frequency, spec.day_of_week, spec.day_of_month,
            spec.time_of_day, spec.timezone, spec.recipients, spec.format, Jsonb(spec.filters), spec.catch_up,
            spec.catch_up_cap, spec.send_if_empty, spec.allow_pii, spec.created_by,
            spec.cadence.next_tick(now),
        )).fetchone()
    except psycopg.errors.UniqueViolation:
        conn.rollback()
        raise ScheduleError(f"invalid schedule, nothing was stored:\n  name: a schedule named {spec.name!r} exists "
                            f"already; choose another name") from None
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
        raise ScheduleError(f"give at least one field to change, of: {', '.join(EDITABLE)}"
                            + (f" (not {', '.join(unknown)})" if unknown else ""))
    old = spec_of(row)
    spec = validate({**_raw_of(old), **given}, conn=conn)
    changed = [name for name in EDITABLE if getattr(spec, name) != getattr(old, name)]
    next_run = row["next_run_at"]
    if next_run is not None and {"time_of_day", "timezone"} & set(changed):
        next_run = spec.cadence.tick_on(old.cadence.local_date(next_run))
    conn.execute(sql.SQL("""
        update {}.report_schedules
        set filters = %s, recipients = %s, format = %s, time_of_day = %s, timezone = %s, description = %s,
            next_run_at = %s, updated_at = now()
        where schedule_id = %s
    """).format(_schema()), (Jsonb(spec.filters), spec.recipients, spec.format, spec.time_of_day, spec.timezone,
                              spec.description, next_run, row["schedule_id"]))
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
            row = cur.execute(sql.SQL("select * from {}.report_schedules where schedule_id = %s").format(_schema()),
                              (schedule_id,)).fetchone()
        except ValueError:
            row = cur.execute(sql.SQL("select * from {}.report_schedules where name = %s").format(_schema()),
                              (key,)).fetchone()
    if row is None:
        raise ScheduleError(f"no schedule {key!r}: `laundry-analytics reports list` shows names and ids")
    return row


def list_all(conn: psycopg.Connection) -> list[dict]:
    ensure_tables(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.SQL("select * from {}.report_schedules order by name").format(_schema())).fetchall()


def set_active(conn: psycopg.Connection, key: str, active: bool, *, now: dt.datetime | None = None) -> dict:
    """Pause or resume. Resuming restarts from the next tick after now: the ticks
    missed while paused are not caught up."""
    schedule = find(conn, key)
    next_run = spec_of(schedule).cadence.next_tick(now or dt.datetime.now(dt.timezone.utc))
    conn.execute(sql.SQL("""
        update {}.report_schedules
        set is_active = %s, next_run_at = case when %s then %s else next_run_at end, updated_at = now()
        where schedule_id = %s
    """).format(_schema()), (active, active, next_run, schedule["schedule_id"]))
    conn.commit()
    return find(conn, str(schedule["schedule_id"]))


def delete(conn: psycopg.Connection, key: str) -> dict:
    schedule = find(conn, key)
    conn.execute(sql.SQL("delete from {}.report_schedules where schedule_id = %s").format(_schema()),
                 (schedule["schedule_id"],))
    conn.commit()
    return schedule


def deliveries(conn: psycopg.Connection, key: str | None = None, limit: int = 50) -> list[dict]:
    ensure_tables(conn)
    where, params = sql.SQL(""), []
    if key is not None:  # '' is refused by find(), not read as "every schedule"
        where, params = sql.SQL("where d.schedule_id = %s"), [find(conn, key)["schedule_id"]]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.SQL("""
            select s.name, d.* from {schema}.report_deliveries d
            join {schema}.report_schedules s using (schedule_id)
            {where} order by d.created_at desc, d.delivery_id desc limit %s
        """).format(schema=_schema(), where=where), [*params, limit]).fetchall()


def spec_of(row: dict) -> ScheduleSpec:
    """The spec of a stored schedule row."""
    return ScheduleSpec(
        name=row["name"], report_type=row["report_type"], frequency=row["frequency"],
        time_of_day=row["time_of_day"], timezone=row["timezone"], recipients=list(row["recipients"]),
        format=row["format"], created_by=row["created_by"], description=row["description"],
        day_of_week=row["day_of_week"], day_of_month=row["day_of_month"], filters=dict(row["filters"]),
        catch_up=row["catch_up"], catch_up_cap=row["catch_up_cap"], send_if_empty=row["send_if_empty"],
        allow_pii=row["allow_pii"],
    )
