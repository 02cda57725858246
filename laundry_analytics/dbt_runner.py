"""Run the dbt CLI on the project's dbt project, with the warehouse exported to it.

Dagster runs dbt through `dagster_dbt.DbtCliResource`; this is for the places that
are not Dagster runs: the CLI's `dbt` passthrough, preparing the manifest, tests of
the dbt models themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from laundry_analytics.database import ensure_database
from laundry_analytics.settings import DBT_PROJECT_DIR


def dbt_executable() -> str:
    """The `dbt` that belongs to this Python environment."""
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(args: list[str], *, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    """Run `dbt <args>` in the project. With `check`, a failure raises
    DbtCommandError carrying the end of dbt's output (when captured)."""
    ensure_database()
    cmd = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    completed = subprocess.run(
        cmd, text=True, env=os.environ.copy(),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
    if check and completed.returncode != 0:
        raise DbtCommandError(f"dbt {' '.join(args)} failed:\n{(completed.stdout or '')[-4000:]}")
    return completed


class DbtCommandError(RuntimeError):
    """A dbt command exited with an error."""
