"""The project's Dagster instance (DAGSTER_HOME/dagster.yaml): run monitoring with a
launcher that can tell a dead run worker, one refresh at a time in the run queue,
an older dagster.yaml upgraded without losing what its user set; and a run whose
process is killed becomes a failed run that the data team is emailed about."""

import email
import email.policy
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

from dagster_project.resources import WarehouseResource
from dagster_project.run_launcher import LocalRunLauncher
from dagster_project.sensors.alerts import email_data_team_on_run_failure
from laundry_analytics.generate import generate
from laundry_cli.orchestration import prepare_dagster_home

WAREHOUSE = {"warehouse": WarehouseResource()}
"""The resources a sensor reads (the Definitions give them to the deployed sensors)."""


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_a_new_dagster_home_monitors_runs_and_runs_one_refresh_at_a_time(dagster_home):
    prepare_dagster_home()
    with DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.get_concurrency_config().run_queue_config.tag_concurrency_limits == [
            {"key": "laundry/refresh", "limit": 1}
        ]


def test_an_older_dagster_yaml_is_upgraded_keeping_what_its_user_set(dagster_home):
    dagster_home.mkdir()
    config = dagster_home / "dagster.yaml"
    config.write_text(
        "telemetry:\n  enabled: false\nrun_monitoring:\n  poll_interval_seconds: 30\n"
        "code_servers:\n  local_startup_timeout: 360\n"
    )
    prepare_dagster_home()
    upgraded = yaml.safe_load(config.read_text())
    assert upgraded["run_monitoring"] == {
        "poll_interval_seconds": 30,
        "enabled": True,
        "start_timeout_seconds": 300,
        "max_resume_run_attempts": 0,
    }
    assert upgraded["code_servers"] == {"local_startup_timeout": 360}
    assert upgraded["run_launcher"]["class"] == "LocalRunLauncher" and "concurrency" in upgraded
    text = config.read_text()
    prepare_dagster_home()  # already current: left as it is
    assert config.read_text() == text


def monitor(instance: DagsterInstance) -> None:
    """One iteration of the daemon's run monitoring."""
    with WorkspaceProcessContext(instance, None) as workspace:
        list(execute_run_monitoring_iteration(workspace, logging.getLogger("run_monitoring")))


def test_a_killed_run_becomes_a_failed_run_and_the_data_team_is_emailed(
    warehouse, conn, dagster_home, tmp_path, monkeypatch
):
    generate(conn, orders=2000, seed=7)
    monkeypatch.setenv("LAUNDRY_OUTBOX", str(tmp_path / "outbox"))
    prepare_dagster_home()
    with DagsterInstance.get() as instance:
        first_tick = email_data_team_on_run_failure.evaluate_tick(
            build_sensor_context(resources=WAREHOUSE, instance=instance)
        )
        # `laundry-analytics materialize`: the run executes in this process, watched by no code server.
        command = subprocess.Popen(
            [sys.executable, "-m", "laundry_cli", "materialize"],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while not instance.get_runs():
                assert command.poll() is None and time.monotonic() < deadline, "the run never started"
                time.sleep(0.5)
            (run,) = instance.get_runs()
            while instance.get_run_by_id(run.run_id).status != DagsterRunStatus.STARTED:
                time.sleep(0.2)
            monitor(instance)
            assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # alive: left alone
        finally:
            os.killpg(command.pid, signal.SIGKILL)  # the process and its dbt, as the OOM killer would
            command.wait()
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # nothing else notices
        monitor(instance)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        email_data_team_on_run_failure.evaluate_tick(
            build_sensor_context(resources=WAREHOUSE, instance=instance, cursor=first_tick.cursor)
        )
    (alert,) = (tmp_path / "outbox").rglob("*.eml")
    message = email.message_from_bytes(alert.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Pipeline run failed: all_assets_job"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert (
        f"/runs/{run.run_id}" in body and "worker process (pid " in body and "is gone: it was killed or crashed" in body
    )
