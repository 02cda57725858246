"""The Dagster code location loads, and materializing every asset really works."""

import os
import subprocess
import sys

import psycopg
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from dagster_project.assets.dbt_models import environment_variable
from dagster_project.checks import ASSET_CHECKS
from dagster_project.definitions import build_definitions, defs
from dagster_project.partitions import catch_up_run, daily_partitions
from dagster_project.project import dbt_project, prepare_manifest
from laundry_analytics import database
from laundry_cli.main import main

DBT_MARTS = {AssetKey(["analytics", "fct_orders"]), AssetKey(["analytics", "data_quality_issues"])}
FRESHNESS = AssetCheckKey(AssetKey(["ops", "orders"]), "orders_arrive_within_lag")


def _asset_graph():
    return defs().get_repository_def().asset_graph


def test_every_dbt_model_is_an_asset_grouped_by_layer():
    graph = _asset_graph()
    keys = graph.get_all_asset_keys()
    assert keys >= DBT_MARTS
    assert AssetKey(["staging", "stg_ops__orders"]) in keys
    assert AssetKey(["ops", "orders"]) in keys  # the source, upstream of staging
    assert graph.get(AssetKey(["analytics", "fct_orders"])).group_name == "marts"
    assert graph.get(AssetKey(["staging", "stg_ops__orders"])).group_name == "staging"


def test_dbt_tests_are_asset_checks():
    check_names = {key.name for key in _asset_graph().asset_check_keys}
    assert any(name.startswith("unique_fct_orders_order_id") for name in check_names)
    assert any(name.startswith("source_unique_ops_orders_id") for name in check_names)


def _insert_one_paid_order(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            """
            insert into ops.users values ('00000000-0000-4000-8000-000000000001', 'a@x.io', 'A', null, now(), true, false);
            insert into ops.orders (id, order_number, customer_id, status, total_amount, created_at, updated_at)
              values ('00000000-0000-4000-8000-000000000002', 'LC-1', '00000000-0000-4000-8000-000000000001',
                      'pending', 12.50, now(), now());
            insert into ops.payments values ('00000000-0000-4000-8000-000000000003',
              '00000000-0000-4000-8000-000000000002', 12.50, 'card', 'completed', now(), now(), now());
            """
        )


def test_the_nightly_job_selects_every_python_check_sources_included():
    job_checks = defs().resolve_job_def("all_assets_job").asset_layer.asset_graph.asset_check_keys
    assert {key for check in ASSET_CHECKS for key in check.check_keys} <= job_checks
    assert FRESHNESS in job_checks  # on the external ops/orders, which "*" alone leaves out


def test_materializing_all_assets_builds_the_marts_and_passes_the_checks(warehouse, monkeypatch):
    _insert_one_paid_order(warehouse.conninfo)
    monkeypatch.delenv("DBT_INDIRECT_SELECTION", raising=False)
    definitions = build_definitions()  # for this test's database
    result = definitions.resolve_job_def("all_assets_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), **catch_up_run(daily_partitions())
    )
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized >= DBT_MARTS
    checks = [
        event.event_specific_data for event in result.all_events if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert checks and all(check.passed for check in checks)
    # Every check of the code location ran: the dbt tests (source tests included),
    # the anomaly check and the source freshness check on the external ops/orders.
    evaluated = {check.asset_check_key for check in checks}
    assert FRESHNESS in evaluated
    assert evaluated == definitions.resolve_asset_graph().asset_check_keys
    # The dbt steps set DBT_INDIRECT_SELECTION for their own dbt invocation only.
    assert "DBT_INDIRECT_SELECTION" not in os.environ
    with psycopg.connect(warehouse.conninfo) as conn:
        assert conn.execute("select captured_amount::text from analytics.fct_orders").fetchall() == [("12.50",)]
        # The cache assets ran after the marts, through the query API.
        assert {AssetKey(["analytics_cache", t]) for t in ("dashboard", "customers")} <= materialized
        cached = dict(conn.execute("select cache_type, data -> 'period' ->> 'days' from analytics.analytics_cache"))
        assert cached == dict.fromkeys(["dashboard", "revenue", "orders", "partners", "customers"], "30")
    fct = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(["analytics", "fct_orders"])
    )
    metadata = fct.materialization.metadata
    assert metadata["dagster/row_count"].value == 1
    assert "captured_amount" in {column.name for column in metadata["dagster/column_schema"].value.columns}


def test_dagster_cli_materializes_a_selection(warehouse, tmp_path):
    _insert_one_paid_order(warehouse.conninfo)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    completed = subprocess.run(
        [dagster, "asset", "materialize", "-m", "dagster_project.definitions", "--select", "*analytics/fct_orders"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    with psycopg.connect(warehouse.conninfo) as conn:
        assert conn.execute("select count(*) from analytics.fct_orders").fetchone() == (1,)


def manifest_database() -> str:
    """The database the relations of the current manifest are in."""
    import json

    return json.loads(dbt_project.manifest_path.read_text())["nodes"]["model.laundry.fct_orders"]["database"]


def test_a_manifest_the_dbt_command_parsed_for_another_database_is_parsed_again(make_database, monkeypatch):
    second = make_database()
    prepare_manifest()  # what loading the definitions for the second database did earlier
    first = make_database()  # exported: the environment of the next command
    assert main(["dbt", "parse", "--quiet"]) == 0
    assert manifest_database() == first.dbname
    for key, value in database.environment_for(second).items():  # back to the second one, e.g. `dagster dev`
        monkeypatch.setenv(key, value)
    build_definitions()
    assert manifest_database() == second.dbname


def test_an_environment_variable_is_set_for_the_block_only(monkeypatch):
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    with environment_variable("DBT_INDIRECT_SELECTION", "buildable"):
        assert os.environ["DBT_INDIRECT_SELECTION"] == "buildable"
    assert os.environ["DBT_INDIRECT_SELECTION"] == "cautious"  # the previous value is back
    monkeypatch.delenv("DBT_INDIRECT_SELECTION")
    with pytest.raises(RuntimeError), environment_variable("DBT_INDIRECT_SELECTION", "eager"):
        raise RuntimeError("dbt could not start")
    assert "DBT_INDIRECT_SELECTION" not in os.environ  # unset again, even after an error


@pytest.mark.parametrize(
    ("messages", "transient"),
    [
        (["Database Error in model fct_orders\n  server closed the connection unexpectedly"], True),
        (["terminating connection due to administrator command"], True),
        (["could not serialize access due to concurrent update"], True),
        (["server closed the connection unexpectedly", "Got 3 results, configured to fail if != 0"], False),
        (['column "nope" does not exist'], False),
        ([], False),
    ],
)
def test_only_transient_database_errors_are_retried(messages, transient):
    from dagster_project.assets.dbt_models import is_transient

    assert is_transient(messages) is transient


def test_the_source_tables_column_types_are_those_of_the_ops_tables(warehouse):
    # The types the UI shows for ops/<table> come from _ops__sources.yml; they must
    # be the ones the ops tables really have.
    graph = build_definitions().resolve_asset_graph()
    declared = {
        (key.path[1], column.name): column.type
        for key in graph.get_all_asset_keys()
        if key.path[0] == "ops"
        for column in graph.get(key).metadata["dagster/column_schema"].columns
    }
    with psycopg.connect(warehouse.conninfo) as conn:
        actual = {
            (table, column): kind
            for table, column, kind in conn.execute(
                "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'ops' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped"
            )
        }
    aliases = {"timestamp with time zone": "timestamptz"}
    assert declared == {key: aliases.get(kind, kind).replace(", ", ",") for key, kind in actual.items()}
