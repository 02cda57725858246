"""Smoke test of the UI's code location: dagster-webserver on a loopback port,
loaded from workspace.yaml, answers GraphQL with the asset graph, the schedules
(in the business time zone), the sensors and the asset checks."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from laundry_analytics import settings

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    assetNodes { assetKey { path } isPartitioned }
    schedules { name cronSchedule executionTimezone }
    sensors { name }
} } } }"""

CHECKS_QUERY = """query ($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
    assetChecksOrError { ... on AssetChecks { checks { name jobNames } } }
} } }"""

ROOT = Path(__file__).resolve().parents[1]


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def asset_checks(port: int, path: list[str]) -> dict[str, list[str]]:
    """The checks of one asset as the UI lists them: name -> jobs that run it."""
    node = graphql(port, CHECKS_QUERY, {"path": path})["data"]["assetNodeOrError"]
    return {check["name"]: check["jobNames"] for check in node["assetChecksOrError"]["checks"]}


def test_the_webserver_serves_the_asset_graph_schedules_and_sensors(warehouse, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    webserver = Path(sys.executable).with_name("dagster-webserver")
    # The server's log goes to a file, not a pipe: nobody reads a pipe while the test
    # waits, and a full one would block the server on its next log line.
    log = tmp_path / "webserver.log"
    with log.open("w") as log_file:
        server = subprocess.Popen([str(webserver), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                                   "-p", str(port)], cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
                                  stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline, data = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            try:
                data = graphql(port, QUERY)["data"]["repositoriesOrError"]
                if data.get("nodes"):
                    break
            except (OSError, KeyError):
                pass
            assert server.poll() is None, log.read_text()[-5000:]
            time.sleep(1)
        (repository,) = data["nodes"]
        assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
        partitioned = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"] if node["isPartitioned"]}
        assert partitioned == {"analytics/daily_revenue_summaries", "analytics/partner_performance_metrics"}
        assert {"analytics/daily_revenue_summaries", "analytics/customer_analytics", "analytics_cache/dashboard",
                "ops/orders"} <= assets
        schedules = {s["name"]: s["cronSchedule"] for s in repository["schedules"]}
        assert schedules["nightly_marts_refresh"] == "0 1 * * *" and "cache_cleanup_hourly" in schedules
        # Every schedule runs in the business time zone (LAUNDRY_BUSINESS_TIMEZONE, default UTC).
        assert {s["executionTimezone"] for s in repository["schedules"]} == {settings.load().business_timezone}
        assert {s["name"] for s in repository["sensors"]} >= {"report_schedules_sensor", "email_data_team_on_run_failure"}
        # The UI lists the dbt tests and the Python checks on an asset, and the nightly job runs them.
        daily = asset_checks(port, ["analytics", "daily_revenue_summaries"])
        assert {"revenue_reconciles_across_marts", "order_counts_reconcile_across_marts",
                "latest_day_is_not_anomalous", "unique_daily_revenue_summaries_date"} <= set(daily)
        assert "all_assets_job" in daily["revenue_reconciles_across_marts"]
        assert "all_assets_job" in asset_checks(port, ["ops", "orders"])["orders_arrive_within_lag"]
    finally:
        server.terminate()
        server.wait(timeout=30)
