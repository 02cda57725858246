"""The project's Dagster instance configuration (DAGSTER_HOME/dagster.yaml).

What it adds to Dagster's defaults:
- run monitoring (the daemon, e.g. under `dagster dev`): a run whose worker
  process died (kill -9, out of memory) is marked failed within a poll interval,
  so the failure sensor emails the data team, instead of staying STARTED for
  ever. Dagster's DefaultRunLauncher cannot tell whether a worker is alive, so
  the instance uses LocalRunLauncher (dagster_project.run_launcher), which can;
  a dead run is not resumed (max_resume_run_attempts 0): the next run repairs
  the marts;
- one refresh at a time: the run queue starts one run tagged `laundry/refresh`
  at a time (dagster_project.concurrency);
- no telemetry.

An existing dagster.yaml is upgraded by adding the keys it lacks: every value a
user set (storage, another run launcher, other limits) is kept.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dagster_project.concurrency import REFRESH_TAG

INSTANCE_DEFAULTS = {
    "telemetry": {"enabled": False},
    "run_launcher": {"module": "dagster_project.run_launcher", "class": "LocalRunLauncher"},
    "run_monitoring": {
        "enabled": True,
        "start_timeout_seconds": 300,
        "max_resume_run_attempts": 0,
        "poll_interval_seconds": 60,
    },
    "concurrency": {"runs": {"tag_concurrency_limits": [{"key": REFRESH_TAG, "limit": 1}]}},
}


def with_defaults(config: dict, defaults: dict) -> dict:
    """`config` with every key of `defaults` it lacks, recursively into mappings
    both have; values `config` has (lists included) are kept as they are."""
    merged = dict(config)
    for key, default in defaults.items():
        if key not in merged:
            merged[key] = default
        elif isinstance(merged[key], dict) and isinstance(default, dict):
            merged[key] = with_defaults(merged[key], default)
    return merged


def write_instance_config(home: Path) -> Path:
    """Create or upgrade `home`/dagster.yaml; the file is rewritten only when a
    key was missing."""
    path = home / "dagster.yaml"
    current = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    if not isinstance(current, dict):
        raise ValueError(f"{path} is not a YAML mapping: fix or remove it")
    merged = with_defaults(current, INSTANCE_DEFAULTS)
    if merged != current or not path.exists():
        path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return path
