"""On generated messy data the build succeeds, every defect is reported, good rows flow on."""

import datetime as dt

import psycopg
import pytest

from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def messy(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        summary = generate(conn, orders=3000, seed=9, messy_fraction=0.05, now=NOW,
                           start=dt.date(2026, 3, 1), end=dt.date(2026, 6, 30))
    build = run_dbt(["build"], check=False, capture=True)
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        reported = set(conn.execute("select table_name, record_id, rule from analytics.data_quality_issues"))
        orders_in_fct = conn.execute("select count(*) from analytics.fct_orders").fetchone()[0]
    return summary, build, reported, orders_in_fct


def test_build_succeeds_on_messy_data(messy):
    _, build, _, _ = messy
    assert build.returncode == 0, build.stdout[-3000:]


def test_every_injected_defect_is_reported_with_its_rule(messy):
    summary, _, reported, _ = messy
    for (table, rule), ids in summary.defects.items():
        if rule == "duplicate":
            continue  # which of two identical rows is "the copy" is arbitrary: checked below
        missing = [i for i in ids if (table, i, rule) not in reported]
        assert not missing, (table, rule, missing[:3])


def test_each_duplicated_payment_has_one_excluded_copy(messy):
    summary, _, reported, _ = messy
    duplicates = {record for (table, record, rule) in reported if rule == "duplicate"}
    assert len(duplicates) == len(summary.defects[("payments", "duplicate")])


def test_every_order_reaches_fct_orders(messy):
    summary, _, _, orders_in_fct = messy
    assert orders_in_fct == summary.rows["orders"]
