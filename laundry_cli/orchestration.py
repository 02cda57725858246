"""Commands that run Dagster or dbt: materialize every asset, open the UI, pass
arguments to dbt."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.refresh_lock import RefreshRunning, running_message
from laundry_analytics.settings import PROJECT_ROOT
from laundry_cli.console import fail, say


def prepare_dagster_home() -> str:
    """Create the Dagster home folder (SQLite storage unless configured otherwise)
    with the project's instance settings, upgrading an older dagster.yaml
    (dagster_project.instance), and export it."""
    from dagster_project.instance import write_instance_config

    home = settings_module.load().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    write_instance_config(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


def materialize_all(job_name: str = "all_assets_job") -> None:
    """Materialize every asset through Dagster (or run another job of the catch-up
    kind: `intraday_refresh_job`), recorded in the persistent instance so the runs,
    materializations and check results show in the UI."""
    prepare_dagster_home()
    from dagster import DagsterInstance

    from dagster_project.concurrency import running_refresh
    from dagster_project.definitions import defs
    from dagster_project.partitions import catch_up_run, daily_partitions

    job = defs().resolve_job_def(job_name)
    run = catch_up_run(daily_partitions())
    with DagsterInstance.get() as instance:
        # Refused at once rather than queued behind it: whoever runs this watches it.
        running = running_refresh(instance)
        if running:
            fail(f"{running_message(running)}; try again when it has finished", code=1)
        result = job.execute_in_process(
            instance=instance,
            run_config={**run["run_config"], "loggers": {"console": {"config": {"log_level": "INFO"}}}},
            partition_key=run["partition_key"],
            raise_on_error=False,
        )
        if not result.success:
            fail(f"the Dagster run {result.run_id} failed; open the UI (laundry-analytics ui) to see why", code=1)
        materialized = {
            event.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()
        }
        say(f"    Dagster run {result.run_id}: {len(materialized)} assets materialized")


def cmd_materialize(args: argparse.Namespace) -> int:
    database.ensure_database()
    materialize_all()
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    database.ensure_database()
    materialize_all("intraday_refresh_job")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    database.ensure_database()  # this process holds the embedded server while the UI runs
    prepare_dagster_home()
    from dagster_project.project import prepare_manifest

    prepare_manifest()
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    cmd = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    say(f"Dagster UI on http://{args.host}:{args.port}  (Ctrl-C to stop)")
    try:
        return subprocess.call(cmd, cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    try:
        return run_dbt(args.dbt_args, check=False).returncode
    except RefreshRunning as running:  # refused at once: whoever typed it can run it again
        fail(f"{running}; try again when it has finished", code=1)
