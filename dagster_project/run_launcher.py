"""A run launcher for one machine that tells run monitoring whether a run's
worker process is still alive.

Dagster's DefaultRunLauncher starts runs in processes of the code server but
does not support worker health checks, so the daemon's run monitoring cannot
tell a dead run from a long one. A run whose process is killed while its code
server is gone too (`dagster dev` stopped, a reboot), or a run executed in
process by `laundry-analytics materialize`, then stays STARTED for ever and no
failure alert is sent. This launcher launches like DefaultRunLauncher and
answers the health check from the run's own event log: the RUN_START event
records the pid of the worker that started it; the run is dead when no process
with that pid, started no later than that event, exists on this machine.

For workers on other machines (containers, Kubernetes), use the run launcher of
that platform: it checks their health its own way.
"""

from __future__ import annotations

import psutil
from dagster import DagsterEventType, DefaultRunLauncher

# The health-check types of the run launcher interface; dagster exports no public name for them.
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

#: Seconds of clock granularity between a process's start time and its first event.
_START_SLACK_SECONDS = 2.0


class LocalRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher, plus worker health checks for run monitoring."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        started = self._instance.event_log_storage.get_logs_for_run(
            run.run_id, of_type=DagsterEventType.RUN_START, limit=1
        )
        if not started or started[0].dagster_event is None or started[0].dagster_event.pid is None:
            # No worker yet: the start timeout of run monitoring covers this case.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run has not started its worker yet")
        pid, start_time = started[0].dagster_event.pid, started[0].timestamp
        if _alive(pid, start_time):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"the run's worker process (pid {pid}) is gone: it was killed or crashed"
        )


def _alive(pid: int, started_before: float) -> bool:
    """Whether the process `pid` that existed at `started_before` still runs (a
    later process that reused the pid does not count)."""
    try:
        process = psutil.Process(pid)
        return (
            process.create_time() <= started_before + _START_SLACK_SECONDS and process.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists, and cannot be judged further
        return True
