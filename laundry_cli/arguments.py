"""Argument types and shared options: each refuses a wrong value with one
sentence (argparse turns it into exit code 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Callable

from laundry_analytics import settings as settings_module
from laundry_analytics.generate.inputs import FIRST_DATE, LAST_DATE, MAX_ORDERS, MAX_ORDERS_COST, check_date
from laundry_analytics.plain_text import visible

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")


def iso_date(text: str) -> dt.date:
    # Only YYYY-MM-DD: date.fromisoformat alone also takes 20260101 and 2026-W01-1.
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def generation_date(text: str) -> dt.date:
    value = iso_date(text)
    try:
        check_date("the date", value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def generation_clock(text: str) -> dt.datetime:
    """An ISO date and time, UTC unless it carries an offset."""
    try:
        if not _ISO_DATETIME.fullmatch(text):
            raise ValueError
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time; write it as YYYY-MM-DDTHH:MM[:SS]"
            "[Z or +HH:MM], e.g. 2026-06-30T18:00:00Z"
        ) from None
    value = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    try:
        check_date("the clock's date", value.astimezone(dt.timezone.utc).date())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value.astimezone(dt.timezone.utc)


def order_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_ORDERS:
        raise argparse.ArgumentTypeError(
            f"{value:,} orders is more than the generator's limit of {MAX_ORDERS:,} ({MAX_ORDERS_COST})"
        )
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def report_date(text: str) -> dt.date:
    """A date of a query or cache range: exactly YYYY-MM-DD, in the years the
    payloads can compute a default window and a previous period for."""
    try:
        return settings_module.parse_iso_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and 0.5")
    return value


class Parser(argparse.ArgumentParser):
    """Refuses wrong arguments in one line (argparse's default puts the whole usage
    first, which buries the sentence that says what to fix). argparse quotes some
    arguments as they were typed (`unrecognized arguments: ...`): line breaks and
    control characters in them are shown escaped."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {visible(message)} (see {self.prog} --help)\n")


def add_generation_options(parser: argparse.ArgumentParser, default_orders: int) -> None:
    parser.add_argument(
        "--orders",
        type=order_count,
        default=default_orders,
        help=f"number of orders, at most {MAX_ORDERS:,} (default {default_orders:,})",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed; same seed and clock, same data (default 42)")
    parser.add_argument(
        "--start",
        type=generation_date,
        help=f"first order date, YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE} (default: end - 365 days)",
    )
    parser.add_argument(
        "--end", type=generation_date, help="last order date, YYYY-MM-DD (default: the day of the clock)"
    )
    parser.add_argument(
        "--now",
        type=generation_clock,
        help="the generator's clock, e.g. 2026-06-30T18:00:00Z (UTC unless an offset is given): "
        "orders still open, refunds and reviews are as of this moment. Default: the end of --end "
        "(00:00 UTC the next day) if that has passed, else the start of the current UTC hour "
        "(printed, with the command that gives the same rows again)",
    )
    parser.add_argument(
        "--messy-fraction", type=fraction, default=0.0, help="share of rows given realistic defects, 0-0.5 (default 0)"
    )
