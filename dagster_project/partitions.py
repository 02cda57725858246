"""The daily partitions of the daily marts, and the run that brings every
partition up to date (the nightly schedule and `laundry-analytics materialize`).

A partition is a business day (LAUNDRY_BUSINESS_TIMEZONE) from
LAUNDRY_PARTITIONS_START up to today (today's partition is open: it fills as
orders arrive). Materializing a partition or a backfill range rebuilds exactly
those dates. The catch-up run brings every partition up to date: it runs on the
latest partition and lets dbt rebuild the dates whose inputs changed since the
last run (late arrivals included), whichever partitions they belong to, so every
partition is current without recomputing the whole history; each date it
rebuilt is recorded as a materialization of its own partition
(dagster_project.assets.partition_figures).
"""

from __future__ import annotations

import datetime as dt

from dagster import DailyPartitionsDefinition

from laundry_analytics import settings as settings_module

#: The op of the partitioned dbt assets (daily marts), for run config.
DAILY_MARTS_OP = "laundry_daily_marts"


def daily_partitions() -> DailyPartitionsDefinition:
    cfg = settings_module.load()
    try:
        dt.date.fromisoformat(cfg.partitions_start)
    except ValueError:
        raise ValueError(
            f"LAUNDRY_PARTITIONS_START must be a date as YYYY-MM-DD, got {cfg.partitions_start!r}"
        ) from None
    return DailyPartitionsDefinition(start_date=cfg.partitions_start, timezone=cfg.business_timezone, end_offset=1)


def catch_up_run(partitions_def: DailyPartitionsDefinition, current_time: dt.datetime | None = None) -> dict:
    """Partition and run config of the run that brings every partition up to date
    (the latest partition, dbt rebuilding the changed dates): keyword arguments
    for RunRequest or execute_in_process."""
    return {
        "partition_key": partitions_def.get_partition_keys(current_time=current_time)[-1],
        "run_config": {"ops": {DAILY_MARTS_OP: {"config": {"only_changed_dates": True}}}},
    }
