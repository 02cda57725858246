"""The Dagster code location of LaundryConnect analytics (`definitions.defs`):
assets (dbt models and the cache), checks, jobs, partitions, schedules, sensors
and resources, one module each."""
