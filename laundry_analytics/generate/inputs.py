"""The generator's arguments, checked before anything is written, and its clock.

The clock (`now`) decides which orders are still open, which refunds and reviews
exist yet and where the data ends, so the same arguments give the same rows only
when the clock is part of the arguments. `anchor_now` is the one rule that turns
"no clock given" into a reproducible one; the command line uses it too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

#: Generated dates stay in this range. Timestamps are handled as microseconds
#: since 1970 with -1 meaning "missing", partners and staff are backdated up to
#: two years before the first order, and order numbers carry a 4-digit year:
#: a century from 2000 leaves room for all of that.
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)

#: The most orders one run generates. Memory grows with the customers (about 45
#: bytes each beside the ~0.4 GB of a block: 0.43 GB at 1M orders, 0.55 GB at 10M),
#: time and disk with the orders (on two cores about 70 s and 0.9 GB of ops tables
#: per million, measured at 1M and 10M).
MAX_ORDERS = 100_000_000
MAX_ORDERS_COST = "at least 2 hours, 2 GB of memory and 90 GB of tables on two cores"

#: Orders generated and loaded at a time: memory holds about two blocks of rows.
DEFAULT_BLOCK_SIZE = 250_000

#: Default length of the order range when only its end (or nothing) is given.
DEFAULT_RANGE_DAYS = 365

UTC = dt.timezone.utc


def utc_now() -> dt.datetime:
    """The wall clock; read only when no clock is given (see `anchor_now`)."""
    return dt.datetime.now(UTC)


class Anchor(NamedTuple):
    """The generator's clock and whether it came from the wall clock (then the
    same arguments give other rows in another hour, unless `now` is passed)."""

    now: dt.datetime
    from_wall_clock: bool


def anchor_now(end: dt.date | None, now: dt.datetime | None = None) -> Anchor:
    """The generator's clock: `now` if given; else the end of day `end` (00:00 UTC
    of the next day) if that has passed; else the start of the current UTC hour."""
    if now is not None:
        return Anchor(now, False)
    wall = utc_now()
    if end is not None:
        end_of_day = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), UTC)
        if end_of_day <= wall:
            return Anchor(end_of_day, False)
    return Anchor(wall.replace(minute=0, second=0, microsecond=0), True)


def _micros(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Window:
    """The checked time range of a run: orders are created in [start_us, end_us)."""

    start: dt.date
    end: dt.date
    now: dt.datetime
    start_us: int
    end_us: int
    now_us: int


def check_date(name: str, value: dt.date) -> None:
    """Refuse a date outside FIRST_DATE..LAST_DATE with a sentence naming it."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"{name} {value} is outside the generator's dates: use one from {FIRST_DATE} to {LAST_DATE}")


def check_arguments(
    *,
    orders: int,
    start: dt.date | None,
    end: dt.date | None,
    now: dt.datetime | None,
    messy_fraction: float,
    block_size: int,
) -> Window:
    """Check every argument of `generate` and anchor its clock; raise ValueError
    with one sentence saying what to fix."""
    if orders < 1:
        raise ValueError(f"orders must be at least 1, not {orders}")
    if orders > MAX_ORDERS:
        raise ValueError(f"orders must be at most {MAX_ORDERS:,} ({MAX_ORDERS_COST}), not {orders:,}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, not {block_size}")
    if not 0.0 <= messy_fraction <= 0.5:
        raise ValueError(f"messy_fraction must be between 0 and 0.5, not {messy_fraction}")
    for name, value in (("start", start), ("end", end)):
        if value is not None:
            check_date(name, value)
    if now is not None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        check_date("now", now.astimezone(UTC).date())
    now = anchor_now(end, now).now
    end = end or now.astimezone(UTC).date()
    if start is None:
        if end - FIRST_DATE < dt.timedelta(days=DEFAULT_RANGE_DAYS):
            raise ValueError(
                f"start defaults to end - {DEFAULT_RANGE_DAYS} days, which is before {FIRST_DATE}: "
                f"give a start on or after {FIRST_DATE}"
            )
        start = end - dt.timedelta(days=DEFAULT_RANGE_DAYS)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    start_us = _micros(dt.datetime.combine(start, dt.time(), UTC))
    now_us = _micros(now)
    end_us = min(_micros(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), UTC)), now_us)
    if end_us <= start_us:
        raise ValueError(f"the range {start}..{end} lies after now ({now.isoformat()})")
    return Window(start, end, now, start_us, end_us, now_us)
