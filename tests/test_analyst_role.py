"""The read-only analyst role can read the marts and nothing else: no source or
staging table, no writes, no temporary tables, nothing created in schema public,
no large objects, and (on the embedded server, which the project owns) no other
database. It logs in with LAUNDRY_ANALYST_PASSWORD; without it, only over the
embedded server's Unix socket."""

import os
import subprocess
import sys
import textwrap

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from laundry_analytics import settings
from laundry_analytics.dbt_runner import run_dbt

PASSWORD = "reads-the-marts"


@pytest.fixture(scope="module")
def analyst(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        conn.execute(
            """
            insert into ops.users values ('00000000-0000-4000-8000-000000000001', 'a@x.io', 'A', null, now(), true, false);
            insert into ops.orders (id, order_number, customer_id, status, total_amount, created_at, updated_at)
              values ('00000000-0000-4000-8000-000000000002', 'LC-1', '00000000-0000-4000-8000-000000000001',
                      'pending', 12.50, now(), now());
            """
        )
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("LAUNDRY_ANALYST_PASSWORD", PASSWORD)
        run_dbt(["run"], capture=True)
    role = settings.load().analyst_role
    conninfo = make_conninfo(module_warehouse.conninfo, user=role, password=PASSWORD)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def test_analyst_reads_every_mart(analyst):
    for mart in [
        "fct_orders",
        "daily_revenue_summaries",
        "partner_performance_metrics",
        "customer_analytics",
        "data_quality_issues",
    ]:
        analyst.execute(f"select count(*) from analytics.{mart}").fetchone()
    assert analyst.execute("select total_orders from analytics.daily_revenue_summaries").fetchall() == [(1,)]


@pytest.mark.parametrize(
    "relation", ["ops.users", "ops.orders", "staging.stg_ops__users", "intermediate.int_customer_order_summary"]
)
def test_analyst_cannot_read_sources_or_staging(analyst, relation):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute(f"select * from {relation} limit 1")


def test_analyst_cannot_write(analyst):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute("delete from analytics.daily_revenue_summaries")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute("create table analytics.mine (n int)")


def test_analyst_cannot_create_temporary_tables(analyst):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="temporary tables"):
        analyst.execute("create temporary table scratch (n int)")


def test_analyst_cannot_create_in_schema_public(analyst):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema public"):
        analyst.execute("create table public.mine (n int)")


@pytest.mark.parametrize(
    "statement", ["select lo_create(0)", "select lo_from_bytea(0, 'x')", "select lo_open(1, 131072)"]
)
def test_analyst_cannot_use_large_objects(analyst, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="function lo_"):
        analyst.execute(statement)


def test_analyst_role_cannot_log_in_without_a_password_on_a_configured_server(warehouse, monkeypatch):
    """A role created by dbt where no password is configured has no LOGIN."""
    monkeypatch.delenv("LAUNDRY_ANALYST_PASSWORD", raising=False)
    monkeypatch.setenv("LAUNDRY_ANALYST_ROLE", "analyst_without_password")
    info = warehouse
    if settings.load().uses_embedded_server:
        pytest.skip("the embedded server's analyst logs in over its Unix socket (next test)")
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        conn.execute("drop role if exists analyst_without_password")
    try:
        run_dbt(["run", "--select", "+stg_ops__users"], capture=True)  # creates the role first (on-run-start)
        with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
            psycopg.connect(make_conninfo(info.conninfo, user="analyst_without_password"))
    finally:
        with psycopg.connect(info.conninfo, autocommit=True) as conn:
            conn.execute("drop owned by analyst_without_password")  # its grants, in this database
            conn.execute("drop role analyst_without_password")


@pytest.mark.embedded
def test_on_the_embedded_server_the_analyst_connects_to_the_warehouse_only(tmp_path):
    """The embedded server listens on its Unix socket only; there the analyst logs
    in without a password, to the warehouse database and no other."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "LAUNDRY_PG_DSN"}
    env["LAUNDRY_HOME"] = str(tmp_path / "home")
    create_another_database = textwrap.dedent(
        """
        from laundry_analytics import database
        with database.connect(database.ensure_database(), autocommit=True) as conn:
            print("listen_addresses=" + conn.execute("show listen_addresses").fetchone()[0])
            conn.execute("create database other_project")
        """
    )
    connect_as_analyst = textwrap.dedent(
        """
        import psycopg
        from psycopg.conninfo import make_conninfo
        from laundry_analytics import database
        analyst = make_conninfo(database.ensure_database().conninfo, user="analyst")
        with psycopg.connect(analyst) as conn:
            print("warehouse=" + conn.execute("select current_database()").fetchone()[0])
        for other in ("postgres", "template1", "other_project"):
            try:
                psycopg.connect(make_conninfo(analyst, dbname=other)).close()
                print(other + "=connected")
            except psycopg.OperationalError as error:
                print(other + "=" + ("refused" if "permission denied for database" in str(error) else str(error)))
        """
    )
    output = ""
    for script in (create_another_database, connect_as_analyst):  # two processes, as two commands would
        completed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr
        output += completed.stdout
    lines = dict(line.split("=", 1) for line in output.split())
    assert lines == {
        "listen_addresses": "",
        "warehouse": "laundry",
        "postgres": "refused",
        "template1": "refused",
        "other_project": "refused",
    }
