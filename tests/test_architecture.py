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


def test_python_and_dbt_know_the_same_payment_methods():
    """One list per language: the dbt var payment_methods and ops_schema.PAYMENT_METHODS."""
    import yaml

    from laundry_analytics.ops_schema import PAYMENT_METHODS

    dbt_vars = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
    assert dbt_vars["payment_methods"] == list(PAYMENT_METHODS)


def test_the_revenue_schema_and_the_staging_test_know_the_same_payment_methods():
    """The two copies that cannot read the lists above (a static JSON Schema, a dbt
    test's accepted values) are held to them here."""
    import json

    import yaml

    from laundry_analytics.ops_schema import PAYMENT_METHODS

    schema = json.loads((ROOT / "laundry_analytics" / "schemas" / "revenue.schema.json").read_text())
    assert schema["properties"]["by_payment_method"]["items"]["properties"]["method"]["enum"] == list(PAYMENT_METHODS)
    models = yaml.safe_load((ROOT / "dbt_project" / "models" / "staging" / "ops" / "_ops__models.yml").read_text())
    payments = next(m for m in models["models"] if m["name"] == "stg_ops__payments")
    method = next(c for c in payments["columns"] if c["name"] == "method")
    (accepted,) = [t["accepted_values"] for t in method["data_tests"] if "accepted_values" in t]
    assert accepted["arguments"]["values"] == [*PAYMENT_METHODS, "unknown"]
