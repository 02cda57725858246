"""The UI's code location as the webserver serves it: dagster-webserver on a
loopback port, loaded from workspace.yaml, over a warehouse materialized by
`laundry-analytics materialize`, answers GraphQL with what a data engineer reads:
the asset graph and its groups, descriptions of every asset, check, job and
schedule, the source tables with typed columns, row counts, durations, and no
metadata the UI cannot show."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from laundry_analytics import settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

ASSETS_QUERY = """{ assetNodes {
    assetKey { path } groupName description isPartitioned
    dependencyKeys { path }
    jobNames
    metadataEntries { label __typename
        ... on TextMetadataEntry { text }
        ... on TableSchemaMetadataEntry { schema { columns { name type description } } } }
    assetChecksOrError { ... on AssetChecks { checks { name description jobNames } } }
    assetMaterializations(limit: 1) { partition metadataEntries { label __typename
        ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } ... on FloatMetadataEntry { floatValue } } }
} }"""

REPOSITORY_QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name cronSchedule executionTimezone description }
    sensors { name description }
    jobs { name description }
} } } }"""

#: Labels of definition metadata the UI itself hides (dagster-webserver's
#: HIDDEN_METADATA_ENTRY_LABELS): dagster-dbt's bookkeeping, never shown.
HIDDEN_BY_THE_UI = {"dagster_dbt/manifest", "dagster_dbt/dagster_dbt_translator"}

#: A duration as dagster_project.metadata writes it: "0.37 s", "2 min 05 s", "1 h 02 min".
DURATION = re.compile(r"^(\d+\.\d\d? s|\d+ min \d\d s|(\d+ d )?\d+ h \d\d min)$")


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


@pytest.fixture(scope="module")
def ui(module_warehouse, tmp_path_factory):
    """(port, warehouse): a webserver over a warehouse with 300 generated orders
    (January 2026), every asset materialized through Dagster in its instance."""
    home = tmp_path_factory.mktemp("laundry_home")
    env = {**os.environ, "LAUNDRY_HOME": str(home), "LAUNDRY_PARTITIONS_START": "2026-01-01"}
    for command in (
        ["generate", "--orders", "300", "--seed", "7", "--start", "2026-01-01", "--end", "2026-01-31"],
        ["materialize"],
    ):
        done = subprocess.run(
            [str(BIN / "laundry-analytics"), *command], env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    dagster_home = home / "dagster_home"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The server's log goes to a file, not a pipe: nobody reads a pipe while the test
    # waits, and a full one would block the server on its next log line.
    log = home / "webserver.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env={**env, "DAGSTER_HOME": str(dagster_home)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if graphql(port, REPOSITORY_QUERY)["repositoriesOrError"].get("nodes"):
                    break
            except (OSError, KeyError, AssertionError):
                pass
            assert server.poll() is None, log.read_text()[-5000:]
            time.sleep(1)
        yield port, module_warehouse
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def assets(ui) -> dict[str, dict]:
    port, _ = ui
    return {"/".join(node["assetKey"]["path"]): node for node in graphql(port, ASSETS_QUERY)["assetNodes"]}


@pytest.fixture(scope="module")
def repository(ui) -> dict:
    port, _ = ui
    (repository,) = graphql(port, REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    return repository


def test_the_asset_graph_has_its_groups_and_partitioned_marts(assets):
    partitioned = {key for key, node in assets.items() if node["isPartitioned"]}
    assert partitioned == {"analytics/daily_revenue_summaries", "analytics/partner_performance_metrics"}
    groups = {node["groupName"] for node in assets.values()}
    assert groups == {"sources", "staging", "intermediate", "marts", "restricted", "cache"}


def test_the_schedules_run_in_the_business_time_zone_under_consistent_names(repository):
    schedules = {s["name"]: s["cronSchedule"] for s in repository["schedules"]}
    assert schedules == {
        "all_assets_nightly_schedule": "0 1 * * *",
        "cache_cleanup_hourly_schedule": "0 * * * *",
        "cache_refresh_05min_schedule": "*/5 * * * *",
        "cache_refresh_10min_schedule": "*/10 * * * *",
        "cache_refresh_15min_schedule": "*/15 * * * *",
        "intraday_refresh_schedule": "*/5 * * * *",  # LAUNDRY_INTRADAY_MINUTES
    }
    assert {s["executionTimezone"] for s in repository["schedules"]} == {settings.load().business_timezone}
    # Every job is <what>_job and every schedule <what>_<when>_schedule, so that sorted
    # by name (as the UI lists them) the cache refreshes read 05, 10, 15 minutes.
    jobs = sorted(job["name"] for job in repository["jobs"] if not job["name"].startswith("__"))
    assert all(name.endswith("_job") for name in jobs)
    assert [name for name in jobs if name.startswith("cache_refresh")] == [
        "cache_refresh_05min_job",
        "cache_refresh_10min_job",
        "cache_refresh_15min_job",
    ]
    assert {s["name"] for s in repository["sensors"]} >= {"report_schedules_sensor", "email_data_team_on_run_failure"}


def test_every_asset_check_job_schedule_and_sensor_has_a_description(assets, repository):
    undescribed = [key for key, node in assets.items() if not (node["description"] or "").strip()]
    # dagster-dbt's placeholder for a model without a YAML description: "dbt model <name>" and its SQL.
    placeholders = [key for key, node in assets.items() if (node["description"] or "").startswith("dbt model ")]
    checks = [
        f"{key}:{check['name']}"
        for key, node in assets.items()
        for check in node["assetChecksOrError"]["checks"]
        if not (check["description"] or "").strip()
    ]
    others = [
        item["name"]
        for kind in ("schedules", "sensors", "jobs")
        for item in repository[kind]
        if not item["name"].startswith("__") and not (item["description"] or "").strip()
    ]
    assert (undescribed, placeholders, checks, others) == ([], [], [], [])


def test_the_reconciliation_checks_take_their_description_from_the_test_yaml(assets):
    checks = {
        check["name"]: check for check in assets["analytics/daily_revenue_summaries"]["assetChecksOrError"]["checks"]
    }
    assert checks["revenue_reconciles_across_marts"]["description"].startswith("Σ daily total_revenue = Σ customer")
    assert checks["order_counts_reconcile_across_marts"]["description"].startswith("Σ daily total_orders")
    # A generic test without a description of its own says what it asserts.
    assert checks["unique_daily_revenue_summaries_date"]["description"] == "No two rows have the same `date`."
    # The UI lists the dbt tests and the Python checks on an asset, and the nightly job runs them.
    assert "latest_day_is_not_anomalous" in checks
    assert "all_assets_job" in checks["revenue_reconciles_across_marts"]["jobNames"]


def column_schema(node: dict) -> list[dict]:
    (schema,) = [e["schema"]["columns"] for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
    return schema


def test_every_column_of_fct_orders_is_described(assets):
    columns = column_schema(assets["analytics/fct_orders"])
    assert len(columns) > 40
    assert [c["name"] for c in columns if not (c["description"] or "").strip()] == []


def test_the_source_tables_are_in_group_sources_with_typed_columns_upstream_of_staging(assets):
    sources = {key: node for key, node in assets.items() if key.startswith("ops/")}
    assert len(sources) == 10 and {node["groupName"] for node in sources.values()} == {"sources"}
    orders = sources["ops/orders"]
    assert orders["description"].startswith("One row per customer order")
    types = {c["name"]: c["type"] for c in column_schema(orders)}
    assert (types["id"], types["total_amount"], types["created_at"]) == ("uuid", "numeric(12,2)", "timestamptz")
    assert all(c["type"] != "?" for node in sources.values() for c in column_schema(node))
    assert {"path": ["ops", "orders"]} in assets["staging/stg_ops__orders"]["dependencyKeys"]
    # The freshness check of the source is run by the nightly job.
    freshness = {c["name"]: c for c in orders["assetChecksOrError"]["checks"]}["orders_arrive_within_lag"]
    assert "all_assets_job" in freshness["jobNames"]


def test_no_asset_shows_unserializable_metadata(assets):
    shown = [
        (key, entry["label"])
        for key, node in assets.items()
        for entry in node["metadataEntries"]
        if "unserializable" in (entry.get("text") or "") and entry["label"] not in HIDDEN_BY_THE_UI
    ]
    assert shown == []


def latest_metadata(node: dict) -> dict:
    (materialization,) = node["assetMaterializations"]
    return {
        e["label"]: e.get("intValue", e.get("text", e.get("floatValue"))) for e in materialization["metadataEntries"]
    }


def test_the_partitioned_marts_show_the_row_count_of_the_whole_mart(ui, assets):
    _, warehouse = ui
    with psycopg.connect(warehouse.conninfo) as conn:
        daily = conn.execute("select count(*) from analytics.daily_revenue_summaries").fetchone()[0]
        partners = conn.execute("select count(*) from analytics.partner_performance_metrics").fetchone()[0]
    assert daily > 1  # one row per order date, from the first to the last
    assert latest_metadata(assets["analytics/daily_revenue_summaries"])["dagster/row_count"] == daily
    assert latest_metadata(assets["analytics/partner_performance_metrics"])["dagster/row_count"] == partners > 0


def test_durations_read_as_durations(assets):
    durations = {
        key: latest_metadata(node)["Execution Duration"]
        for key, node in assets.items()
        if node["assetMaterializations"] and "Execution Duration" in latest_metadata(node)
    }
    assert "analytics/fct_orders" in durations
    assert {key: value for key, value in durations.items() if not DURATION.match(str(value))} == {}
