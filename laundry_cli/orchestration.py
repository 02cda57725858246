"""Commands that run Dagster or dbt: materialize every asset, open the UI, pass
arguments to dbt."""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.refresh_lock import RefreshRunning, running_message
from laundry_analytics.settings import PROJECT_ROOT
from laundry_cli.console import fail, say
from laundry_cli.progress import MAX_FAILURES, RunProgress, failure_lines, new_log_path, output_to_log


def prepare_dagster_home() -> str:
    """Create the Dagster home folder (SQLite storage unless configured otherwise)
    with the project's instance settings, upgrading an older dagster.yaml
    (dagster_project.instance), and export it."""
    from dagster import DagsterInstance

    from dagster_project.instance import write_instance_config

    home = settings_module.load().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    write_instance_config(home)
    os.environ["DAGSTER_HOME"] = str(home)
    # Opening the instance creates its SQLite storage the first time: two commands
    # started together into a new home would both create the same tables ("table
    # ... already exists"), so the first opening is done by one process at a time.
    with open(home / ".instance.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        DagsterInstance.get().dispose()
    return str(home)


def materialize_all(command: str = "materialize", job_name: str = "all_assets_job") -> None:
    """Materialize every asset through Dagster (or run another job of the catch-up
    kind: `intraday_refresh_job`), recorded in the persistent instance so the runs,
    materializations and check results show in the UI.

    The console shows one line per finished step (laundry_cli.progress); the full
    dbt and Dagster output goes to a log file under LAUNDRY_HOME/logs whose path
    is printed first. A failed run prints what failed, its error and the log path."""
    log_path = new_log_path(command)
    say(f"    full dbt and Dagster log: {log_path}")
    with output_to_log(log_path) as screen:  # a refusal raised inside is printed after it
        _run_job(job_name, screen, log_path)


def _run_job(job_name: str, screen, log_path: Path) -> None:
    prepare_dagster_home()
    from dagster import DagsterInstance

    from dagster_project.concurrency import running_refresh
    from dagster_project.definitions import defs
    from dagster_project.partitions import catch_up_run, daily_partitions

    job = defs().resolve_job_def(job_name)
    graph = job.asset_layer.asset_graph
    dbt_models = frozenset(
        key.to_user_string()
        for key in job.asset_layer.selected_asset_keys
        if graph.has(key) and "dbt" in graph.get(key).kinds
    )
    run = catch_up_run(daily_partitions())
    with DagsterInstance.get() as instance:
        # Refused at once rather than queued behind it: whoever runs this watches it.
        running = running_refresh(instance)
        if running:
            fail(f"{running_message(running)}; try again when it has finished", code=1)
        run_id = str(uuid.uuid4())  # known before the run starts, to listen to its events
        # sys.stdout writes to the log file now: the progress lines are kept there too.
        progress = RunProgress(screen=screen, log=sys.stdout, dbt_models=dbt_models, steps_total=len(job.nodes))
        instance.add_event_listener(run_id, progress.on_event)
        try:
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                run_config={**run["run_config"], "loggers": {"console": {"config": {"log_level": "INFO"}}}},
                partition_key=run["partition_key"],
                raise_on_error=False,
            )
        finally:
            progress.close()
        materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
        for name in progress.checks_warned[:MAX_FAILURES]:
            progress.line(f"warning: check {name} did not pass", indent="    ")
        if not result.success:
            for line in failure_lines(progress, result.run_id):
                progress.line(f"failed: {line}", indent="    ")
            fail(f"the Dagster run {result.run_id} failed; the full dbt and Dagster log is {log_path}", code=1)
        progress.line(
            f"Dagster run {result.run_id}: {len(materialized)} assets materialized, "
            f"{progress.counts()}, in {progress.elapsed()}",
            indent="    ",
        )


def cmd_materialize(args: argparse.Namespace) -> int:
    database.ensure_database()
    materialize_all("materialize")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    info = database.ensure_database()
    # The intraday run builds on the nightly one (the staging views, every table once).
    with database.connect(info) as conn:
        built = conn.execute(
            "select to_regclass(%s)",
            (f"{settings_module.load().analytics_schema}.fct_orders",),
        ).fetchone()[0]
    if built is None:
        fail("the marts are not built yet: run `laundry-analytics materialize` once, then `refresh`", code=1)
    materialize_all("refresh", job_name="intraday_refresh_job")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    database.ensure_database()  # this process holds the embedded server while the UI runs
    prepare_dagster_home()
    from dagster_project.project import prepare_manifest

    prepare_manifest()
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    cmd = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    say(f"Dagster UI on http://{args.host}:{args.port}  (Ctrl-C to stop)")
    return run_until_stopped(cmd)


#: How long `dagster dev` gets to stop its webserver, daemon and code servers
#: after an interrupt before whatever is left of them is killed.
UI_STOP_SECONDS = 30


def run_until_stopped(cmd: list[str]) -> int:
    """Run `dagster dev` in a process group of its own until it exits or this
    process is interrupted (Ctrl-C) or terminated (SIGTERM, SIGHUP). On a signal,
    `dagster dev` is asked to stop (SIGINT: it stops the webserver, the daemon and
    the code servers it started); whatever of its group is still alive after
    UI_STOP_SECONDS, or after it exited, is killed, so no child outlives the
    command. Returns 0 when stopped by a signal, else `dagster dev`'s exit code."""
    stopped, started = [], []

    def stop(signum, frame) -> None:
        stopped.append(signum)
        if started and started[0].poll() is None:
            started[0].send_signal(signal.SIGINT)

    # Installed before `dagster dev` starts: a shell that starts this command in the
    # background ignores SIGINT, and an ignored signal stays ignored in a child,
    # where a caught one is reset to its default.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        process = subprocess.Popen(cmd, cwd=PROJECT_ROOT, start_new_session=True)
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    started.append(process)
    if stopped:  # a signal came while it started
        process.send_signal(signal.SIGINT)
    try:
        deadline = None
        while process.poll() is None:
            if stopped and deadline is None:
                deadline = time.monotonic() + UI_STOP_SECONDS
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _kill_group(process)
    return 0 if stopped else process.returncode


def _kill_group(process: subprocess.Popen) -> None:
    """Terminate what is left of the process group of `process` (itself
    included), then kill what still runs a few seconds later."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(process.pid):
            process.poll()  # reap the leader: a zombie would count as alive
            time.sleep(0.2)
    if process.poll() is None:
        process.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def cmd_dbt(args: argparse.Namespace) -> int:
    try:
        return run_dbt(args.dbt_args, check=False).returncode
    except RefreshRunning as running:  # refused at once: whoever typed it can run it again
        fail(f"{running}; try again when it has finished", code=1)
