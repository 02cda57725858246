"""Run the dbt CLI on the project's dbt project, with the warehouse exported to it.

Dagster runs dbt through `dagster_dbt.DbtCliResource`; this is for the places that
are not Dagster runs: the CLI's `dbt` passthrough, preparing the manifest, tests of
the dbt models themselves.

Every invocation that touches the warehouse holds its refresh lock
(laundry_analytics.refresh_lock), and every invocation that rewrites
`target/manifest.json` records beside it which warehouse environment it parsed
it for (`manifest_parsed_for`), so a manifest written by any command, for any
database, is recognised as such.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from laundry_analytics import refresh_lock
from laundry_analytics.database import ensure_database
from laundry_analytics.settings import DBT_PROJECT_DIR

#: Environment baked into the manifest at parse time (relation names carry the
#: database; schemas and the time zone come from env): a change means re-parse.
PARSE_ENVIRONMENT = ("PGDATABASE", "LAUNDRY_OPS_SCHEMA", "LAUNDRY_ANALYTICS_SCHEMA",
                     "LAUNDRY_BUSINESS_TIMEZONE", "LAUNDRY_ANALYST_ROLE")

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"

#: Beside the manifest: the environment it was parsed for, and the dbt invocation
#: that wrote it. Not dbt's own `metadata.env` (DBT_ENV_CUSTOM_ENV_*): a partially
#: parsed manifest keeps the previous full parse's copy of it.
MANIFEST_STAMP_PATH = MANIFEST_PATH.with_name("manifest.env.json")

#: dbt commands that never connect to the warehouse (or only read its settings):
#: they run without the refresh lock, so `dbt parse` at code-location load or a
#: docs server never waits for, or blocks, a refresh.
_COMMANDS_WITHOUT_WAREHOUSE = {"parse", "deps", "clean", "list", "ls", "debug", "init", "--help", "-h", "--version"}


def dbt_executable() -> str:
    """The `dbt` that belongs to this Python environment."""
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def parse_environment() -> str:
    """The part of this process's environment that a parsed manifest depends on."""
    return json.dumps({key: os.environ.get(key) for key in PARSE_ENVIRONMENT}, sort_keys=True)


def touches_warehouse(args: list[str]) -> bool:
    """Whether `dbt <args>` writes to (or runs hooks on) the warehouse."""
    commands = [arg for arg in args if not arg.startswith("-") or arg in _COMMANDS_WITHOUT_WAREHOUSE]
    if not commands or commands[0] in _COMMANDS_WITHOUT_WAREHOUSE:
        return False
    return commands[:2] != ["docs", "serve"]


def run_dbt(args: list[str], *, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    """Run `dbt <args>` in the project. A command that touches the warehouse
    holds its refresh lock, and is refused at once with RefreshRunning when
    another refresh holds it. With `check`, a failure raises DbtCommandError
    carrying the end of dbt's output (when captured)."""
    ensure_database()
    cmd = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    previous_invocation = _manifest_invocation()
    if touches_warehouse(args):
        with refresh_lock.hold(f"pid {os.getpid()}, dbt {' '.join(args)}"):
            completed = _run(cmd, capture)
    else:
        completed = _run(cmd, capture)
    invocation = _manifest_invocation()
    if invocation is not None and invocation != previous_invocation:
        MANIFEST_STAMP_PATH.write_text(json.dumps({"invocation_id": invocation, "environment": parse_environment()}))
    if check and completed.returncode != 0:
        raise DbtCommandError(f"dbt {' '.join(args)} failed:\n{(completed.stdout or '')[-4000:]}")
    return completed


def manifest_parsed_for() -> str | None:
    """The environment (as `parse_environment()` gives it) that the current
    `target/manifest.json` was parsed for, or None when unknown: no manifest,
    or one written by a command that left no stamp (a bare `dbt` run by hand)."""
    try:
        stamp = json.loads(MANIFEST_STAMP_PATH.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("invocation_id") != _manifest_invocation():
        return None
    return stamp.get("environment")


def _manifest_invocation() -> str | None:
    """The id of the dbt invocation that wrote the manifest (dbt writes a new one
    on every run, partial parse or not)."""
    try:
        return json.loads(MANIFEST_PATH.read_text())["metadata"]["invocation_id"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _run(cmd: list[str], capture: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, text=True, env=os.environ.copy(),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )


class DbtCommandError(RuntimeError):
    """A dbt command exited with an error."""
