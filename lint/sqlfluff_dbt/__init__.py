"""What dbt puts in a template's context beyond sqlfluff's dbt builtins, for
sqlfluff's jinja templater (.sqlfluff, library_path): `var` reads the project's
own vars from dbt_project.yml (one list, not a copy), `env_var` gives its
default (linting never depends on the environment), and `execute` is False as
when dbt parses, so a macro that would query the warehouse renders its SQL
fallback instead."""

from pathlib import Path

import yaml

_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
_VARS = yaml.safe_load(_PROJECT.read_text())["vars"]

execute = False
run_started_at = "2026-01-01 00:00:00+00:00"


def var(name, default=None):
    return _VARS.get(name, default)


def env_var(name, default=""):
    return default
