"""The range and filters of a query, validated against the marts.

A `Window` is what every payload of the query API (laundry_analytics.analytics)
is computed over: a range of order dates and, optionally, filters that every
figure of the payload honours:

- `partner_id`: one partner's orders (any payload);
- `service_category`: the orders with at least one item of that category; item
  figures (by category, top services) count only that category's lines
  (revenue and orders payloads);
- `city`: the orders of the partners whose dim_partners.city is that city
  (partners payload).

A filter value that matches nothing in the marts is refused with the nearest
valid values, so a misspelt city never yields a report of zeros.
"""

from __future__ import annotations

import datetime as dt
import difflib
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from laundry_analytics import settings as settings_module
from laundry_analytics.analytics_schema import compose

DEFAULT_RANGE_DAYS = 30

_SOURCES = {  # (table, column) holding a filter's valid values
    "city": ("dim_partners", "city"),
    # The daily item aggregate holds every category that ever sold, in far fewer rows than the items.
    "service_category": ("agg_item_sales_daily", "service_category_name"),
}
_WHAT = {
    "city": "no partner's city in analytics.dim_partners",
    "service_category": "no service category sold in the marts",
}
FILTERS = tuple(_SOURCES)
"""The filters a payload type may apply beyond partner_id (PayloadType.filters)."""


@dataclass(frozen=True)
class Window:
    """A validated range of order dates (inclusive) and its filters."""

    start: dt.date
    end: dt.date
    partner_id: uuid.UUID | None = None
    service_category: str | None = None
    city: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_filtered(self) -> bool:
        """Whether a filter narrows the orders (the all-partner daily aggregates then do not apply)."""
        return bool(self.partner_id or self.service_category or self.city)

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]

    def params(self) -> dict:
        """Query parameters %(start)s, %(end)s, %(partner_id)s, %(service_category)s, %(city)s."""
        return {
            "start": self.start,
            "end": self.end,
            "partner_id": self.partner_id,
            "service_category": self.service_category,
            "city": self.city,
        }

    def describe(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "days": self.days,
            "partner_id": str(self.partner_id) if self.partner_id else None,
            "service_category": self.service_category,
            "city": self.city,
        }


def today() -> dt.date:
    """Today's local date in the business time zone."""
    return dt.datetime.now(ZoneInfo(settings_module.load().business_timezone)).date()


def make_window(
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    partner_id: uuid.UUID | str | None = None,
    *,
    service_category: str | None = None,
    city: str | None = None,
    conn: psycopg.Connection | None = None,
) -> Window:
    """Validate a range the way every entry point does: dates (ISO text allowed),
    end not before start, at most LAUNDRY_QUERY_MAX_DAYS days, filter values that
    exist in the marts (checked when `conn` is given). Defaults: end today, start
    so that the range is the last 30 days. Raises ValueError with a message that
    says what to fix."""
    end = _parse_date(end, "end") if end is not None else today()
    start = _parse_date(start, "start") if start is not None else end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if end < start:
        raise ValueError(f"end {end} is before start {start}: give an end on or after the start")
    max_days = settings_module.load().query_max_days
    if (end - start).days + 1 > max_days:
        raise ValueError(
            f"the range {start}..{end} is {(end - start).days + 1} days; at most {max_days} "
            "are allowed (LAUNDRY_QUERY_MAX_DAYS): ask for a shorter range"
        )
    if partner_id is not None:
        partner_id = uuid.UUID(check_partner(conn, partner_id)) if conn is not None else parse_partner(partner_id)
    if conn is not None:
        service_category = check_filter_value(conn, "service_category", service_category)
        city = check_filter_value(conn, "city", city)
        if partner_id and city:
            check_partner_in_city(conn, str(partner_id), city)
    return Window(start, end, partner_id, service_category, city)


def _parse_date(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a date: write it as YYYY-MM-DD") from None


def parse_partner(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError(f"partner {value!r} is not a partner id (a UUID)") from None


# --- filter values that exist in the marts ----------------------------------------


def _rows(conn: psycopg.Connection, query: str, params: tuple = (), **parts: sql.Composable) -> list[tuple]:
    try:
        return conn.cursor(row_factory=tuple_row).execute(compose(query, **parts), params).fetchall()
    except psycopg.errors.UndefinedTable as missing:
        conn.rollback()
        raise ValueError(
            f"cannot check the value in the marts, they are not built yet "
            f"({missing.diag.message_primary}): run `laundry-analytics materialize` first"
        ) from None


def filter_values(conn: psycopg.Connection, key: str) -> list[str]:
    """The values a `city` or `service_category` filter can take (those in the marts)."""
    table, column = (sql.Identifier(name) for name in _SOURCES[key])
    return sorted(
        row[0]
        for row in _rows(
            conn, "select distinct {column} from {a}.{table} where {column} is not null", table=table, column=column
        )
    )


def nearest(value: str, choices: list[str], n: int = 3) -> list[str]:
    """The choices closest to `value` (ignoring case): first those that contain it
    (a partner's name given in part, "Lavandaria"), then the close ones (difflib),
    or else the n least far, so a refusal always shows what could be meant."""
    folded = {choice.casefold(): choice for choice in choices}
    containing = sorted(match for match in folded if value.casefold() in match)
    close = difflib.get_close_matches(value.casefold(), folded, n=n) or difflib.get_close_matches(
        value.casefold(), folded, n=n, cutoff=0
    )
    return [folded[match] for match in dict.fromkeys([*containing, *close])][:n]


def check_filter_value(conn: psycopg.Connection, key: str, value: str | None) -> str | None:
    """`value` if some row of the marts has it (None passes); else ValueError
    naming the nearest valid values."""
    if value is None:
        return None
    table, column = (sql.Identifier(name) for name in _SOURCES[key])
    # The common case, a valid value, costs one row found (all values are read only to name the nearest).
    if _rows(conn, "select 1 from {a}.{table} where {column} = %s limit 1", (value,), table=table, column=column):
        return value
    choices = filter_values(conn, key)
    hint = f"nearest: {', '.join(nearest(value, choices))}" if choices else "the marts have none yet"
    raise ValueError(f"{key} {value!r} matches {_WHAT[key]}; {hint}")


def check_partner(conn: psycopg.Connection, value: uuid.UUID | str) -> str:
    """The partner id (text) if dim_partners has it; else ValueError naming the
    nearest partners by id, or by name when `value` is not a UUID at all."""
    try:
        partner = str(parse_partner(value))
    except ValueError:
        partner = None
    if partner and _rows(conn, "select 1 from {a}.dim_partners where partner_id = %s", (partner,)):
        return partner
    partners = {
        str(pid): (name, city)
        for pid, name, city in _rows(conn, "select partner_id, business_name, city from {a}.dim_partners")
    }

    def show(pid: str) -> str:
        name, city = partners[pid]
        return f"{pid} ({name or 'no name'}, {city or 'no city'})"

    if partner is None:
        by_name = {name: pid for pid, (name, _) in partners.items() if name}
        hint = "; ".join(show(by_name[n]) for n in nearest(str(value), list(by_name)))
        raise ValueError(
            f"partner_id {value!r} is not a UUID, so it is not a partner id"
            + (f"; nearest partners by name: {hint}" if hint else "")
        )
    hint = "; ".join(show(pid) for pid in nearest(partner, list(partners)))
    raise ValueError(
        f"no partner with partner_id {partner} in analytics.dim_partners" + (f"; nearest: {hint}" if hint else "")
    )


def check_partner_in_city(conn: psycopg.Connection, partner_id: str, city: str) -> None:
    """Both filters at once must describe some partner."""
    ((partner_city,),) = _rows(conn, "select city from {a}.dim_partners where partner_id = %s", (partner_id,))
    if partner_city != city:
        raise ValueError(
            f"partner_id {partner_id} is in {partner_city or 'no city'}, not in city {city!r}: "
            "the report would always be empty; give only one of the two"
        )


def partner_name(conn: psycopg.Connection, partner_id: str | uuid.UUID) -> str | None:
    rows = _rows(conn, "select business_name from {a}.dim_partners where partner_id = %s", (str(partner_id),))
    return rows[0][0] if rows else None
