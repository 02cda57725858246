"""What `demo` and `materialize` show while Dagster runs every asset: one line per
finished step that built assets (step, dbt models done of total, checks passed,
elapsed; steps that only run checks are counted, not listed), a live
line on a terminal, and the full dbt and Dagster output in a log file whose path
is printed first.

The log file receives this process's standard output and error at the file
descriptor level, so everything lands there: Dagster's console logger, the dbt
output dagster-dbt echoes, and the dbt subprocesses' own stderr. The display
writes to the terminal the process had before.

When the run fails, `failure_lines` names what failed: every dbt model or test
in error (from the run_results.json of each dbt invocation of the run), every
check that did not pass with severity ERROR, and every other step that failed,
each with the first line of its error.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from laundry_analytics import settings as settings_module
from laundry_analytics.settings import dbt_target_dir

#: Longest error text shown per failure on the console (the log has all of it).
ERROR_WIDTH = 300
#: Failures listed on the console; the rest are counted.
MAX_FAILURES = 5


def new_log_path(command: str) -> Path:
    """A new log file for one command, under LAUNDRY_HOME/logs/."""
    folder = settings_module.load().logs
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return folder / f"{command}-{stamp}.log"


@contextmanager
def output_to_log(path: Path) -> Iterator[io.TextIOBase]:
    """Send this process's stdout and stderr (and its children's) to `path` for
    the block; yield a text stream on the terminal they pointed to before."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    screen = open(os.dup(saved_out), "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield screen
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (log, saved_out, saved_err):
            os.close(fd)
        screen.close()


def elapsed_text(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


@dataclass
class RunProgress:
    """Counts a Dagster run's events and shows them: a line per finished step,
    and on a terminal a live line for the running step, repainted every second."""

    screen: io.TextIOBase
    log: io.TextIOBase
    dbt_models: frozenset[str]
    steps_total: int
    started: float = field(default_factory=time.monotonic)
    models_done: set[str] = field(default_factory=set)
    checks_passed: int = 0
    checks_warned: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    steps_done: int = 0
    running: str | None = None
    failed_steps: dict[str, str] = field(default_factory=dict)
    steps_with_assets: set[str] = field(default_factory=set)
    """Steps that materialized an asset: only these (and failed steps) get a line; a
    step that only evaluated checks is counted in "checks passed"."""

    def __post_init__(self) -> None:
        self.live = self.screen.isatty()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if self.live:
            threading.Thread(target=self._tick, daemon=True).start()

    # --- what is counted -----------------------------------------------------------

    def on_event(self, entry) -> None:
        """Dagster event listener (DagsterInstance.add_event_listener)."""
        try:
            self._count(entry)
        except Exception as error:  # noqa: BLE001 - the display must never break the run
            print(f"progress display: {error!r}", file=sys.stderr)

    def _count(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self.running = event.step_key
            self._repaint()
        elif kind == "ASSET_MATERIALIZATION":
            self.steps_with_assets.add(event.step_key)
            key = event.asset_key.to_user_string()
            if key in self.dbt_models:
                self.models_done.add(key)
                self._repaint()
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed:
                self.checks_passed += 1
            else:
                name = f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                severity = getattr(evaluation.severity, "value", str(evaluation.severity))
                (self.checks_failed if severity == "ERROR" else self.checks_warned).append(name)
            self._repaint()
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            self.steps_done += 1
            if kind == "STEP_FAILURE":
                error = event.event_specific_data.error
                self.failed_steps[event.step_key] = first_line(error.message if error else "")
            self.running = None
            if kind == "STEP_FAILURE" or event.step_key in self.steps_with_assets:
                self.line(f"{self._status(event.step_key, 'failed' if kind == 'STEP_FAILURE' else 'done')}")
            else:
                self._repaint()

    # --- what is shown -------------------------------------------------------------

    def counts(self) -> str:
        text = f"dbt models {len(self.models_done)}/{len(self.dbt_models)}, checks {self.checks_passed} passed"
        if self.checks_warned:
            text += f", {len(self.checks_warned)} warned"
        if self.checks_failed:
            text += f", {len(self.checks_failed)} failed"
        return text

    def elapsed(self) -> str:
        return elapsed_text(time.monotonic() - self.started)

    def _status(self, step: str, state: str) -> str:
        number = min(self.steps_done + (state == "running"), self.steps_total)
        return f"{self.elapsed():>6}  step {number}/{self.steps_total} {step} {state}: {self.counts()}"

    def line(self, text: str, *, indent: str = "") -> None:
        """A permanent line on the terminal (and in the log, to read beside it)."""
        with self._lock:
            self.screen.write(("\r\x1b[K" if self.live else "") + indent + text + "\n")
            self.screen.flush()
            self.log.write(f"[progress] {indent}{text}\n")
            self.log.flush()

    def _repaint(self) -> None:
        if not self.live or self.running is None:
            return
        with self._lock:
            width = os.get_terminal_size(self.screen.fileno()).columns if self.screen.isatty() else 120
            self.screen.write("\r\x1b[K" + self._status(self.running, "running")[: max(width - 1, 20)])
            self.screen.flush()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._repaint()
            except (OSError, ValueError):  # the terminal went away
                return

    def close(self) -> None:
        self._stop.set()
        if self.live:
            with self._lock:
                self.screen.write("\r\x1b[K")
                self.screen.flush()


def first_line(text: str) -> str:
    """The first non-empty line of an error, cut to ERROR_WIDTH characters."""
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= ERROR_WIDTH else line[: ERROR_WIDTH - 1] + "…"


def dbt_failures(run_id: str) -> list[str]:
    """`model X: error` for each dbt node in error or failing in the run's dbt
    invocations (dagster-dbt gives each its target folder `<op>-<run id[:7]>-<hash>`)."""
    failures = []
    for results in sorted(dbt_target_dir().glob(f"*-{run_id[:7]}-*/run_results.json")):
        try:
            run_results = json.loads(results.read_text())
        except (OSError, ValueError):
            continue
        for result in run_results.get("results", []):
            if result.get("status") in ("error", "fail", "runtime error"):
                kind, _, name = result.get("unique_id", "").partition(".")
                name = name.split(".", 1)[-1]  # drop the dbt project name
                failures.append(
                    f"{'check' if kind == 'test' else kind} {name}: "
                    f"{dbt_error_text(result.get('message') or result.get('status'))}"
                )
    return failures


def dbt_error_text(message: str) -> str:
    """dbt's message in one line: "Database Error in model X (path)" followed by
    the database's own words becomes "Database Error: <those words>"."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and " Error in " in lines[0]:
        return first_line(f"{lines[0].split(' in ', 1)[0]}: {lines[1]}")
    return first_line(message)


def failure_lines(progress: RunProgress, run_id: str) -> list[str]:
    """What failed in the run, most specific first: dbt models and tests with their
    errors, checks that failed, then any other failed step with its error."""
    lines = dbt_failures(run_id)
    lines += [
        f"check {name}: did not pass"
        for name in progress.checks_failed
        if not any(name.split(" on ")[0] in line for line in lines)
    ]
    dbt_said = bool(lines)
    for step, error in progress.failed_steps.items():
        if dbt_said and "dbt" in error:  # the dbt step's own error only says "dbt failed"
            continue
        lines.append(f"step {step}: {error}")
    if len(lines) > MAX_FAILURES:
        lines = [*lines[:MAX_FAILURES], f"and {len(lines) - MAX_FAILURES} more (see the log)"]
    return lines
