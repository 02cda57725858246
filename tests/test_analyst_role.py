"""The read-only analyst role can read the marts and nothing else."""

import psycopg
import pytest

from laundry_analytics import settings
from laundry_analytics.dbt_runner import run_dbt


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
    run_dbt(["run"], capture=True)
    role = settings.load().analyst_role
    conninfo = module_warehouse.conninfo.replace(f"user={module_warehouse.user}", f"user={role}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def test_analyst_reads_every_mart(analyst):
    for mart in ["fct_orders", "daily_revenue_summaries", "partner_performance_metrics", "customer_analytics",
                 "data_quality_issues"]:
        analyst.execute(f"select count(*) from analytics.{mart}").fetchone()
    assert analyst.execute("select total_orders from analytics.daily_revenue_summaries").fetchall() == [(1,)]


@pytest.mark.parametrize("relation", ["ops.users", "ops.orders", "staging.stg_ops__users", "intermediate.int_customer_order_summary"])
def test_analyst_cannot_read_sources_or_staging(analyst, relation):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute(f"select * from {relation} limit 1")


def test_analyst_cannot_write(analyst):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute("delete from analytics.daily_revenue_summaries")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute("create table analytics.mine (n int)")
