"""Run the dbt CLI on the project's dbt project, with the warehouse exported to it.

Dagster runs dbt through `dagster_dbt.DbtCliResource`; this is for the places that
are not Dagster runs: the CLI's `dbt` passthrough, preparing the manifest, tests of
the dbt models themselves.

Every invocation receives the project's dbt vars from the settings
(`with_project_vars`: the business time zone), and every invocation that touches
the warehouse holds its refresh lock
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

import yaml

from laundry_analytics import refresh_lock
from laundry_analytics import settings as settings_module
from laundry_analytics.database import ensure_database
from laundry_analytics.settings import DBT_PROJECT_DIR, dbt_target_dir

MANIFEST_PATH = dbt_target_dir() / "manifest.json"

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
    """The settings a parsed manifest depends on (relation names carry the database;
    schemas, the analyst role and the time zone come from the settings): a change
    means re-parse."""
    cfg = settings_module.load()
    return json.dumps(
        {
            "database": cfg.libpq.get("PGDATABASE"),
            "ops_schema": cfg.ops_schema,
            "analytics_schema": cfg.analytics_schema,
            "business_timezone": cfg.business_timezone,
            "analyst_role": cfg.analyst_role,
        },
        sort_keys=True,
    )


def project_vars() -> dict[str, str]:
    """The dbt vars the settings give every invocation: `business_timezone`, the
    validated LAUNDRY_BUSINESS_TIMEZONE (the models' macros read the var; their
    fallback to the environment serves a bare `dbt` run only)."""
    return {"business_timezone": settings_module.load().business_timezone}


def with_project_vars(args: list[str]) -> list[str]:
    """`dbt <args>` with project_vars() added to its --vars; a var the caller passes
    itself (e.g. a unit test's time zone) wins. `dbt --version` and the like (no
    command) are left as they are."""
    if not args or args[0].startswith("-"):
        return list(args)
    given, rest = {}, []
    arguments = iter(args)
    for arg in arguments:
        if arg == "--vars" or arg.startswith("--vars="):
            text = arg.partition("=")[2] if "=" in arg else next(arguments, "{}")
            given = {**given, **(yaml.safe_load(text) or {})}
        else:
            rest.append(arg)
    return [*rest, "--vars", json.dumps({**project_vars(), **given}, default=str)]  # a YAML date: its ISO text


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
    cmd = [
        dbt_executable(),
        *with_project_vars(args),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
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
        cmd,
        text=True,
        env=os.environ.copy(),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )


class DbtCommandError(RuntimeError):
    """A dbt command exited with an error."""
