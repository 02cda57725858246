"""Smoke test of the UI's code location: dagster-webserver on a loopback port,
loaded from workspace.yaml, answers GraphQL with the asset graph, the schedules
and the sensors."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    assetNodes { assetKey { path } isPartitioned }
    schedules { name cronSchedule executionTimezone }
    sensors { name }
} } } }"""

ROOT = Path(__file__).resolve().parents[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_the_webserver_serves_the_asset_graph_schedules_and_sensors(warehouse, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    webserver = Path(sys.executable).with_name("dagster-webserver")
    server = subprocess.Popen([str(webserver), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, data = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            try:
                data = graphql(port, QUERY)["data"]["repositoriesOrError"]
                if data.get("nodes"):
                    break
            except (OSError, KeyError):
                pass
            assert server.poll() is None, server.stderr.read()
            time.sleep(1)
        (repository,) = data["nodes"]
        assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
        partitioned = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"] if node["isPartitioned"]}
        assert partitioned == {"analytics/daily_revenue_summaries", "analytics/partner_performance_metrics"}
        assert {"analytics/daily_revenue_summaries", "analytics/customer_analytics", "analytics_cache/dashboard",
                "ops/orders"} <= assets
        schedules = {s["name"]: s["cronSchedule"] for s in repository["schedules"]}
        assert schedules["nightly_marts_refresh"] == "0 1 * * *" and "cache_cleanup_hourly" in schedules
        assert {s["name"] for s in repository["sensors"]} >= {"report_schedules_sensor", "email_data_team_on_run_failure"}
    finally:
        server.terminate()
        server.wait(timeout=30)
