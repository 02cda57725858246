"""Metadata as a data engineer reads it in the UI: durations as durations
("0.37 s", "2 min 05 s", "1 h 02 min"), not bare floats of seconds."""

from __future__ import annotations

from typing import TypeVar

from dagster import MetadataValue

from laundry_analytics.durations import duration_text

#: The label dagster-dbt gives a model's or test's run time (a float of seconds).
DBT_DURATION = "Execution Duration"

E = TypeVar("E")


def readable_durations(event: E) -> E:
    """The event (Output, AssetMaterialization, AssetCheckResult, ...) with
    dagster-dbt's `Execution Duration` written as a duration; other events as
    they are."""
    metadata = getattr(event, "metadata", None) or {}
    value = metadata.get(DBT_DURATION)
    seconds = value.value if isinstance(value, MetadataValue) else value
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return event
    return event.with_metadata({**metadata, DBT_DURATION: MetadataValue.text(duration_text(seconds))})
