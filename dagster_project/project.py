"""The dbt project as Dagster sees it, and the manifest it is loaded from.

The manifest is prepared at load time: `dbt parse` runs when `target/manifest.json`
is missing, older than any file of the dbt project, or was parsed for another
warehouse environment (another database, schema or time zone), so `dagster dev`,
`dagster asset materialize` and the tests always load the models as they are on
disk, for the warehouse they run against. Whichever command rewrote the manifest
(`laundry-analytics dbt run`, `compile`, `parse`, ...) stamped the environment it
parsed it for, tied to that dbt invocation (laundry_analytics.dbt_runner), so a
stamp never vouches for a manifest another command wrote after it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject

from laundry_analytics.dbt_runner import manifest_parsed_for, parse_environment, run_dbt
from laundry_analytics.settings import DBT_PROJECT_DIR, dbt_target_dir

#: The manifest lives in dbt's target folder (DBT_TARGET_PATH when set), where
#: `dbt` itself and dagster-dbt's invocations write.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=dbt_target_dir())

_SOURCE_SUFFIXES = {".sql", ".yml", ".yaml", ".md", ".csv"}


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for path in project_dir.rglob("*"):
        if path.suffix in _SOURCE_SUFFIXES and not {"target", "logs", "dbt_packages"} & set(
            path.relative_to(project_dir).parts
        ):
            newest = max(newest, path.stat().st_mtime)
    return newest


def prepare_manifest() -> Path:
    """Make sure `manifest.json` reflects the dbt project on disk and the current
    warehouse environment; return its path. Call after `ensure_database()`."""
    with _manifest_lock():
        return _prepare(dbt_project.manifest_path)


def load_manifest() -> dict:
    """The prepared manifest, parsed (what the dbt assets are built from)."""
    with _manifest_lock():
        return json.loads(_prepare(dbt_project.manifest_path).read_text())


@contextmanager
def _manifest_lock() -> Iterator[None]:
    """One process prepares or reads the manifest at a time: two commands started
    together would otherwise both run `dbt parse`, and one would read the
    manifest while the other writes it."""
    lock_path = dbt_project.manifest_path.with_name("manifest.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _prepare(manifest: Path) -> Path:
    current = (
        manifest.exists()
        and manifest.stat().st_mtime >= _newest_source_mtime(dbt_project.project_dir)
        and manifest_parsed_for() == parse_environment()
    )
    if not current:
        # Not dbt_project.preparer: it looks for `dbt` on PATH, and a venv's bin
        # folder need not be there. --target-path: where this manifest is read
        # (the same folder as DBT_TARGET_PATH's, said explicitly).
        run_dbt(["parse", "--quiet", "--no-partial-parse", "--target-path", str(manifest.parent)], capture=True)
    return manifest
