"""The arithmetic of the payloads, as docs/metrics.md defines it, and their JSON form."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from psycopg import sql

_CENT = Decimal("0.01")


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """A percentage with 2 decimals, half away from zero; None on a zero
    denominator (the same rule as the dbt macro `rate`)."""
    if not denominator:
        return None
    return (Decimal(100) * Decimal(numerator) / Decimal(denominator)).quantize(_CENT, ROUND_HALF_UP)


def rate_sql(numerator: str, denominator: str) -> sql.Composable:
    """`rate` in SQL, for ranking and averaging rates in the database: the columns'
    percentage with 2 decimals (PostgreSQL's round of a numeric is half away from
    zero), NULL on a zero denominator."""
    return sql.SQL("round(100.0 * {} / nullif({}, 0), 2)").format(
        sql.Identifier(numerator), sql.Identifier(denominator)
    )


def ratio(numerator: Decimal, denominator: int) -> Decimal | None:
    """numerator / denominator with 2 decimals; None on a zero denominator."""
    return (Decimal(numerator) / denominator).quantize(_CENT, ROUND_HALF_UP) if denominator else None


def growth(current: int | Decimal, previous: int | Decimal) -> Decimal | None:
    """The change from `previous` to `current` in percent; None when `previous` is 0."""
    return rate(Decimal(current) - Decimal(previous), previous)


def mean(values: Iterable[Decimal | None]) -> Decimal | None:
    """The mean of the known values with 2 decimals; None when none is known."""
    known = [Decimal(v) for v in values if v is not None]
    return (sum(known) / len(known)).quantize(_CENT, ROUND_HALF_UP) if known else None


def to_jsonable(value):
    """Dates as ISO text, UUIDs as text, exact decimals as JSON numbers."""
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        # float's shortest repr of a 2-decimal amount below 2**53 / 100 is its exact text
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, dt.date | uuid.UUID):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value
