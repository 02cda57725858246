"""Validation of a report schedule: every field is checked, and every problem
named with what to write instead, before anything is stored (reports.schedules
stores it). Which report types and filters there are comes from the registry
of payload types (laundry_analytics.analytics.registry)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import psycopg

from laundry_analytics import plain_text
from laundry_analytics import settings as settings_module
from laundry_analytics.analytics import registry, windows
from laundry_analytics.analytics.rows import DAY_NAMES
from laundry_analytics.plain_text import check_plain_text
from reports.periods import FREQUENCIES, Cadence
from reports.render import FORMATS

CATCH_UP_POLICIES = ("skip", "latest", "all")
DEFAULT_CATCH_UP_CAP = 3
MAX_CATCH_UP_CAP = 100
MAX_RECIPIENTS = 50
MAX_WINDOW_DAYS = 366
FILTERS = {
    "window_days": f"int 1-{MAX_WINDOW_DAYS}: report on the N days ending at the period's end instead of the period",
    "partner_id": "a partner UUID from analytics.dim_partners: only its orders (customers: its customers)",
    "city": "a partner city from analytics.dim_partners: only its partners and their orders",
    "service_category": "a service category name: only the orders with an item of it, and only its lines in "
    "item tables",
}
"""The filters a schedule may give; city and service_category only for the report
types whose payload applies them (PayloadType.filters)."""
_NOT_COMPUTED = {"city": "partner city", "service_category": "service category"}


def report_types() -> tuple[str, ...]:
    """The types a schedule can report on: the payload types with a report layout."""
    return registry.report_types()


def filter_report_types() -> dict[str, tuple[str, ...]]:
    """The report types whose every figure honours each filter key: window_days and
    partner_id any, city and service_category those whose payload applies them. A
    key another type could not honour is refused."""
    types = report_types()
    return {key: types if key not in windows.FILTERS else registry.taking(key, types) for key in FILTERS}


def filter_keys() -> dict[str, str]:
    """Each filter key with what it does and, for a narrowing one, which reports take it."""
    takers = filter_report_types()
    return {
        key: text + (f" ({_reports(takers[key])})" if key in windows.FILTERS else "") for key, text in FILTERS.items()
    }


def _reports(types: tuple[str, ...]) -> str:
    return f"{' and '.join(types)} report{'s' if len(types) > 1 else ''}"


def _refusal(key: str, report_type: str) -> str:
    """Why `report_type` refuses filter `key`: its own words, or that its figures are not computed so."""
    own = registry.get(report_type).refusals.get(key)
    if own:
        return own
    takers = filter_report_types()[key]
    whose = f"{' and '.join(takers)} reports'" if len(takers) > 1 else f"{''.join(takers) or 'no'} report's"
    return f"its figures are not computed per {_NOT_COMPUTED[key]} (only the {whose} are)"


class ScheduleError(ValueError):
    """Invalid schedule input; the message lists every field to fix."""


def refusal(problems: list[str]) -> str:
    """The refusal of a schedule: one line when one field is wrong (the usual case,
    a sentence a script or a terminal shows whole), else one line per field."""
    if len(problems) == 1:
        return f"invalid schedule, nothing was stored: {problems[0]}"
    return "invalid schedule, nothing was stored:\n  " + "\n  ".join(problems)


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
    report_type = check("report_type", lambda v: _choice(v, report_types()))
    frequency = check("frequency", lambda v: _choice(v, FREQUENCIES))
    day_of_week = check("day_of_week", lambda v: _day_of_week(v, frequency))
    day_of_month = check("day_of_month", lambda v: _day_of_month(v, frequency))
    time_of_day = check("time_of_day", _time_of_day)
    timezone = check("timezone", _timezone)
    recipients = check("recipients", _recipients)
    fmt = check("format", lambda v: _choice(v, FORMATS))
    filters = check("filters", lambda v: _filters(v, conn, report_type))
    catch_up = check("catch_up", lambda v: _choice(v or "latest", CATCH_UP_POLICIES))
    catch_up_cap = check(
        "catch_up_cap", lambda v: _int_range(v if v is not None else DEFAULT_CATCH_UP_CAP, 1, MAX_CATCH_UP_CAP)
    )
    description = check("description", lambda v: check_plain_text(v or "", "description", 2000))
    created_by = check("created_by", lambda v: check_plain_text(v or "cli", "created-by", 200))
    if problems:
        raise ScheduleError(refusal(problems))
    return ScheduleSpec(
        name=name,
        report_type=report_type,
        frequency=frequency,
        time_of_day=time_of_day,
        timezone=timezone,
        recipients=recipients,
        format=fmt,
        created_by=created_by,
        description=description,
        day_of_week=day_of_week,
        day_of_month=day_of_month,
        filters=filters,
        catch_up=catch_up,
        catch_up_cap=catch_up_cap,
        send_if_empty=bool(raw.get("send_if_empty")),
        allow_pii=bool(raw.get("allow_pii")),
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
        raise ValueError(
            f"a schedule name may not look like an id (a UUID), as {text!r} does: `show`, `pause` "
            "and the others would read it as one; choose a name in words"
        )
    return text


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
    if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
        word = value.strip().lower()
        for number, name in enumerate(DAY_NAMES):  # "mon", "Monday", "MONDAY"
            if word in (name.lower(), name[:3].lower()):
                return number
        raise ValueError(
            f"{value!r} is not a day of the week; write 0-6 (0 = Monday), a day's name (monday) "
            "or its first three letters (mon)"
        )
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


def parse_address(text: str) -> str:
    """One recipient address, normalised, within LAUNDRY_RECIPIENT_DOMAINS (if set);
    else ValueError (laundry_analytics.plain_text.parse_address)."""
    return plain_text.parse_address(text, settings_module.load().recipient_domains)


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
    only the keys that report type applies (filter_report_types)."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f'not valid JSON ({error.msg}); e.g. \'{{"city": "Lisbon"}}\'') from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    unknown = sorted(set(value) - set(FILTERS))
    if unknown:
        raise ValueError(
            f"unknown key {', '.join(unknown)}; allowed: " + "; ".join(f"{k} ({v})" for k, v in filter_keys().items())
        )
    takers = filter_report_types()
    irrelevant = sorted(k for k in value if report_type and report_type not in takers[k])
    if irrelevant:
        raise ValueError(
            "; ".join(
                f"{k} applies only to {' and '.join(takers[k])} reports, not to "
                f"{report_type} reports: {_refusal(k, report_type)}"
                for k in irrelevant
            )
        )
    filters = {}
    if "window_days" in value:
        if isinstance(value["window_days"], bool) or not isinstance(value["window_days"], int):
            raise ValueError("window_days must be a whole number")
        filters["window_days"] = _int_range(value["window_days"], 1, MAX_WINDOW_DAYS)
    for key in windows.FILTERS:
        if key in value:
            if not isinstance(value[key], str) or not value[key].strip() or len(value[key]) > 200:
                raise ValueError(f"{key} must be non-empty text")
            filters[key] = check_plain_text(value[key], key, 200).strip()
    if "partner_id" in value:
        filters["partner_id"] = _partner_id(value["partner_id"], conn)
    if conn is not None:  # values that match nothing in the marts are refused, with the nearest valid ones
        for key in windows.FILTERS:
            windows.check_filter_value(conn, key, filters.get(key))
        if filters.get("partner_id") and filters.get("city"):
            windows.check_partner_in_city(conn, filters["partner_id"], filters["city"])
    return filters


def _partner_id(value, conn: psycopg.Connection | None) -> str:
    if conn is not None:
        return windows.check_partner(conn, value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"partner_id {value!r} is not a UUID") from None
