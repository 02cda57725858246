"""The code location as a whole: every asset key, asset check, job, schedule and
sensor name, compared exactly with the committed snapshot tests/defs_snapshot.json,
so that a rename or a lost asset shows in review. After an intended change,
rewrite the snapshot with `UPDATE_SNAPSHOTS=1 python -m pytest tests/test_defs.py`
and commit it with the change.

Importing the code location starts nothing: no warehouse, no dbt (Dagster builds
`defs` when it loads the location)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.definitions import defs

SNAPSHOT = Path(__file__).with_name("defs_snapshot.json")


def names_of(definitions) -> dict[str, list[str]]:
    graph = definitions.resolve_asset_graph()
    return {
        "assets": sorted(key.to_user_string() for key in graph.get_all_asset_keys()),
        "asset_checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": sorted(job.name for job in definitions.jobs),
        "schedules": sorted(schedule.name for schedule in definitions.schedules),
        "sensors": sorted(sensor.name for sensor in definitions.sensors),
    }


def test_the_code_location_has_exactly_the_names_of_the_snapshot(warehouse):
    current = names_of(defs())
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    for kind in expected:
        assert current[kind] == expected[kind], (
            f"{kind} differ from {SNAPSHOT.name}: added {sorted(set(current[kind]) - set(expected[kind]))}, "
            f"removed {sorted(set(expected[kind]) - set(current[kind]))} (UPDATE_SNAPSHOTS=1 rewrites it)"
        )
    assert current.keys() == expected.keys()


def test_importing_the_code_location_starts_no_server_and_runs_no_dbt(tmp_path):
    # A warehouse nobody listens on, and an empty home: reaching the one would fail,
    # and starting an embedded server or parsing dbt would leave files in the other.
    env = {
        **os.environ,
        "LAUNDRY_PG_DSN": "host=127.0.0.1 port=9 dbname=nowhere connect_timeout=1",
        "LAUNDRY_HOME": str(tmp_path),
    }
    env.pop("PGHOST", None)
    done = subprocess.run(
        [sys.executable, "-c", "import dagster_project.definitions as d; print(callable(d.defs))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["assets", "asset_checks", "jobs", "schedules", "sensors"])
def test_the_snapshot_lists_something_of_each_kind(kind):
    assert json.loads(SNAPSHOT.read_text())[kind]
