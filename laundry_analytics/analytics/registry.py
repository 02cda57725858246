"""The registry of payload types: one PayloadType record per type
(laundry_analytics.analytics.payload_type), the built-in ones first
(laundry_analytics.analytics.payloads). Every list of types in the project is
read from here: the CLI's choices, the cache types and their TTLs, the Dagster
cache assets, the report types of schedules, the marts a report waits for, the
filters each type takes and the CHECK constraints of the tables that store a
type's name."""

from __future__ import annotations

import json

import psycopg

from laundry_analytics.analytics.payload_type import PayloadType, ReportLayout, layout_problems
from laundry_analytics.analytics.payloads import BUILT_IN
from laundry_analytics.analytics.windows import FILTERS

_TYPES: dict[str, PayloadType] = {}


def register(payload_type: PayloadType) -> PayloadType:
    """Add a type; ValueError if its name is taken or its record is inconsistent
    (unknown filters, a report layout with problems). Returns it."""
    if payload_type.name in _TYPES:
        raise ValueError(f"a payload type named {payload_type.name!r} is registered already")
    problems = [
        f"unknown filter {key!r} (choose from {', '.join(FILTERS)})"
        for key in payload_type.filters
        if key not in FILTERS
    ]
    problems += layout_problems(payload_type.report) if payload_type.report else []
    if problems:
        raise ValueError(f"payload type {payload_type.name!r}: {'; '.join(problems)}")
    _TYPES[payload_type.name] = payload_type
    return payload_type


def unregister(name: str) -> None:
    """Remove a type (tests that register one of their own)."""
    _TYPES.pop(name, None)


def get(name: str) -> PayloadType:
    """The type named `name`; ValueError naming the choices if there is none."""
    try:
        return _TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown payload {name!r}: choose one of {', '.join(payload_types())}") from None


def payload_types() -> tuple[str, ...]:
    """Every type's name, in registration order."""
    return tuple(_TYPES)


def report_types() -> tuple[str, ...]:
    """The types that are also emailed reports (those with a report layout)."""
    return tuple(name for name, payload_type in _TYPES.items() if payload_type.report is not None)


def report_layout(name: str) -> ReportLayout:
    """The report layout of a type; ValueError when it is no report type."""
    layout = get(name).report
    if layout is None:
        raise ValueError(f"{name} is not a report type: choose one of {', '.join(report_types())}")
    return layout


def taking(filter_key: str, names: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The types (of `names`, default all) that apply `filter_key` to every figure."""
    return tuple(name for name in (names if names is not None else payload_types()) if filter_key in get(name).filters)


def payload(
    payload_type: str,
    start=None,
    end=None,
    partner_id=None,
    *,
    conn: psycopg.Connection | None = None,
    **filters: str | None,
) -> dict:
    """The payload of one type for a range, with the filters that type applies
    (PayloadType.filters; a None value is no filter)."""
    record = get(payload_type)
    given = {key: value for key, value in filters.items() if value is not None}
    refused = sorted(set(given) - set(record.filters))
    if refused:
        raise ValueError(
            f"the {payload_type} payload cannot be filtered by {', '.join(refused)}; it takes "
            + (", ".join(["partner_id", *record.filters]))
        )
    return record.compute(start, end, partner_id, conn=conn, **given)


def json_schema(payload_type: str) -> dict:
    """The JSON Schema (draft 2020-12) that documents the payload of a type."""
    return json.loads(get(payload_type).schema.read_text())


for _built_in in BUILT_IN:
    register(_built_in)
