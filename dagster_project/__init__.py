"""The Dagster code location of LaundryConnect analytics (`definitions.defs`)."""
