"""On generated messy data the build succeeds, every defect is reported, good rows flow on."""

import datetime as dt
from collections import defaultdict
from uuid import UUID

import psycopg
import pytest

from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.timezone.utc)
LOOK_ALIKE = ("payments", "possible_duplicate")
# The columns that make two payments identical (docs/metrics.md, "Captured payment").
PAYMENT_LOOK = "order_id, amount, lower(trim(method)), lower(trim(status)), created_at, paid_at, updated_at"


@pytest.fixture(scope="module")
def messy(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        summary = generate(
            conn, orders=3000, seed=9, messy_fraction=0.05, now=NOW, start=dt.date(2026, 3, 1), end=dt.date(2026, 6, 30)
        )
    build = run_dbt(["build"], check=False, capture=True)
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        reported = {
            (table, record, rule): (is_excluded, severity, related)
            for table, record, rule, is_excluded, severity, related in conn.execute(
                "select table_name, record_id, rule, is_excluded, severity, related_record_id"
                " from analytics.data_quality_issues"
            )
        }
        orders_in_fct = conn.execute("select count(*) from analytics.fct_orders").fetchone()[0]
    return summary, build, reported, orders_in_fct


@pytest.fixture(scope="module")
def look_alike_groups(messy, module_warehouse) -> list[list[str]]:
    """The generator's identical payments grouped by what makes them identical,
    each group's ids in ascending order (the first is the one the others resemble)."""
    summary = messy[0]
    ids = summary.defects.get(LOOK_ALIKE, [])
    groups: dict[tuple, list[str]] = defaultdict(list)
    with psycopg.connect(module_warehouse.conninfo) as conn:
        for payment_id, *look in conn.execute(
            f"select id::text, {PAYMENT_LOOK} from ops.payments where id = any(%s::uuid[])", (ids,)
        ):
            groups[tuple(look)].append(payment_id)
    return [sorted(group, key=UUID) for group in groups.values()]


def test_build_succeeds_on_messy_data(messy):
    _, build, _, _ = messy
    assert build.returncode == 0, build.stdout[-3000:]


def test_every_injected_defect_is_reported_with_its_rule(messy):
    summary, _, reported, _ = messy
    for (table, rule), ids in summary.defects.items():
        if (table, rule) == LOOK_ALIKE:
            continue  # both rows of a pair are listed, only the later id is flagged: checked below
        missing = [i for i in ids if (table, i, rule) not in reported]
        assert not missing, (table, rule, missing[:3])


def test_identical_payments_come_in_groups_of_at_least_two(messy, look_alike_groups):
    summary = messy[0]
    assert summary.defects.get(LOOK_ALIKE), "the generator injected no identical payments"
    assert all(len(group) >= 2 for group in look_alike_groups), look_alike_groups[:3]
    assert sum(map(len, look_alike_groups)) == len(set(summary.defects[LOOK_ALIKE]))


def test_each_later_identical_payment_is_kept_and_points_at_the_first(messy, look_alike_groups):
    _, _, reported, _ = messy
    for first, *later in look_alike_groups:
        assert ("payments", first, "possible_duplicate") not in reported, first
        for payment_id in later:
            assert reported.get(("payments", payment_id, "possible_duplicate")) == (False, "warn", first), payment_id


def test_no_payment_is_flagged_possible_duplicate_unless_injected(messy):
    summary, _, reported, _ = messy
    flagged = {record for (table, record, rule) in reported if (table, rule) == LOOK_ALIKE}
    assert flagged <= set(summary.defects.get(LOOK_ALIKE, []))


def test_identical_payments_count_as_revenue(module_warehouse, look_alike_groups):
    first_ids = [group[0] for group in look_alike_groups]
    with psycopg.connect(module_warehouse.conninfo) as conn:
        # Per order of an identical pair: captured = every completed, non-negative row.
        differing = conn.execute(
            """
            with look_alike_orders as (select distinct order_id from ops.payments where id = any(%s::uuid[])),
            captured as (
                select p.order_id, sum(p.amount) as amount
                from ops.payments p
                where p.order_id in (select order_id from look_alike_orders)
                  and lower(trim(p.status)) = 'completed' and p.amount >= 0
                group by p.order_id
            )
            select captured.order_id from captured
            join analytics.fct_orders f on f.order_id = captured.order_id
            where f.captured_amount <> captured.amount
        """,
            (first_ids,),
        ).fetchall()
    assert look_alike_groups and not differing, differing[:3]


def test_revenue_is_every_completed_non_negative_payment_of_a_known_order(messy, module_warehouse):
    with psycopg.connect(module_warehouse.conninfo) as conn:
        in_fct, in_ops = conn.execute("""
            select (select sum(captured_amount) from analytics.fct_orders),
                   (select sum(p.amount) from ops.payments p join ops.orders o on o.id = p.order_id
                    where lower(trim(p.status)) = 'completed' and p.amount >= 0)
        """).fetchone()
    assert in_fct == in_ops


def test_every_order_reaches_fct_orders(messy):
    summary, _, _, orders_in_fct = messy
    assert orders_in_fct == summary.rows["orders"]
