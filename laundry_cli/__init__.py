"""The `laundry-analytics` command line (laundry_cli.main), on top of the core
(laundry_analytics), the reports (reports) and the Dagster code location
(dagster_project): one module per group of commands."""
