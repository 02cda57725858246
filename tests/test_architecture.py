"""Imports run one way: the command line (laundry_cli) on top, then the Dagster
code location (dagster_project), then the reports (reports), then the core
(laundry_analytics), as the layers contract in pyproject.toml says. A module
that imports a package above its own fails this test."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_package_imports_one_above_it():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout
