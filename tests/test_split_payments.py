"""A split payment is two payments: identical rows under two ids both count.

Carla pays one order in two equal halves on one card terminal: two `payments` rows
identical in order, amount, method, status and every timestamp. Both are revenue
(docs/metrics.md, "Captured payment"); the later id is reported in
data_quality_issues as possible_duplicate, kept, pointing at the lower id. With dbt
var exclude_identical_payments = true the later id is excluded instead. Every
expected figure below is worked out from the rows inserted here.
"""

from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import dict_row

from laundry_analytics.dbt_runner import run_dbt


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


CARLA, DAN, ERIN = uid(1), uid(2), uid(3)
P_NORTH, P_SOUTH = uid(11), uid(12)
CATEGORY, SERVICE = uid(21), uid(22)
O_SPLIT, O_BIG, O_DAN, O_DAN_CANCELLED, O_ERIN = uid(31), uid(32), uid(33), uid(34), uid(35)
# PAY_FIRST has the lower id, though it is inserted after PAY_SECOND.
PAY_FIRST, PAY_SECOND, PAY_BIG_1, PAY_BIG_2, PAY_DAN, PAY_ERIN = uid(41), uid(42), uid(43), uid(44), uid(45), uid(46)

HALF = Decimal("12.50")
BIG_1, BIG_2 = Decimal("400.00"), Decimal("75.00")
DAN_PAID, DAN_REFUND = Decimal("40.00"), Decimal("10.00")
ERIN_PAID = Decimal("30.00")  # paid online up front; no partner has taken the order yet
AS_OF = "2026-06-30"

ROWS = f"""
insert into ops.users values
  ('{CARLA}', 'carla@example.com', 'Carla C', null, '2026-01-01T00:00Z', true, false),
  ('{DAN}', 'dan@example.com', 'Dan D', null, '2026-01-01T00:00Z', true, false),
  ('{ERIN}', 'erin@example.com', 'Erin E', null, '2026-01-01T00:00Z', true, false);
insert into ops.partners values
  ('{P_NORTH}', 'North Wash', 'Porto', 10, true, '2025-12-01T00:00Z'),
  ('{P_SOUTH}', 'South Wash', 'Faro', 10, true, '2025-12-01T00:00Z');
insert into ops.service_categories values ('{CATEGORY}', 'Dry Cleaning');
insert into ops.services values ('{SERVICE}', '{CATEGORY}', 'Suit', 12.50, true);

insert into ops.orders values
  ('{O_SPLIT}', 'LC-1', '{CARLA}', '{P_NORTH}', 'completed', 25.00, '2026-06-10T10:00Z', '2026-06-10T10:10Z',
   null, '2026-06-10T11:00Z', '2026-06-10T15:00Z', '2026-06-10T16:00Z', null, '2026-06-10T16:00Z'),
  ('{O_BIG}', 'LC-2', '{CARLA}', '{P_SOUTH}', 'completed', 475.00, '2026-06-20T10:00Z', '2026-06-20T10:10Z',
   null, '2026-06-20T11:00Z', '2026-06-20T15:00Z', '2026-06-20T16:00Z', null, '2026-06-20T18:00Z'),
  ('{O_DAN}', 'LC-3', '{DAN}', '{P_NORTH}', 'completed', 40.00, '2026-06-10T12:00Z', '2026-06-10T12:10Z',
   null, '2026-06-10T13:00Z', '2026-06-10T17:00Z', '2026-06-10T18:00Z', null, '2026-06-12T09:00Z'),
  ('{O_DAN_CANCELLED}', 'LC-4', '{DAN}', '{P_NORTH}', 'cancelled', 12.50, '2026-06-11T09:00Z', null,
   null, null, null, null, '2026-06-11T09:30Z', '2026-06-11T09:30Z'),
  ('{O_ERIN}', 'LC-5', '{ERIN}', null, 'pending', 30.00, '2026-06-25T10:00Z', null,
   null, null, null, null, null, '2026-06-25T10:05Z');
insert into ops.order_items values
  ('{uid(71)}', '{O_SPLIT}', '{SERVICE}', 2, 12.50, 25.00),
  ('{uid(72)}', '{O_BIG}', '{SERVICE}', 38, 12.50, 475.00),
  ('{uid(73)}', '{O_DAN}', '{SERVICE}', 3, 12.50, 37.50),
  ('{uid(74)}', '{O_DAN}', '{SERVICE}', 1, 2.50, 2.50),
  ('{uid(75)}', '{O_DAN_CANCELLED}', '{SERVICE}', 1, 12.50, 12.50),
  ('{uid(76)}', '{O_ERIN}', '{SERVICE}', 2, 15.00, 30.00);

-- Two halves of O_SPLIT on one card terminal: identical but for the id.
insert into ops.payments values
  ('{PAY_SECOND}', '{O_SPLIT}', {HALF}, 'card', 'completed', '2026-06-10T16:00Z', '2026-06-10T16:00Z', '2026-06-10T16:00Z'),
  ('{PAY_FIRST}', '{O_SPLIT}', {HALF}, 'card', 'completed', '2026-06-10T16:00Z', '2026-06-10T16:00Z', '2026-06-10T16:00Z'),
-- O_BIG in two cash instalments at different times.
  ('{PAY_BIG_1}', '{O_BIG}', {BIG_1}, 'cash', 'completed', '2026-06-20T16:00Z', '2026-06-20T16:00Z', '2026-06-20T16:00Z'),
  ('{PAY_BIG_2}', '{O_BIG}', {BIG_2}, 'cash', 'completed', '2026-06-20T18:00Z', '2026-06-20T18:00Z', '2026-06-20T18:00Z'),
  ('{PAY_DAN}', '{O_DAN}', {DAN_PAID}, 'card', 'completed', '2026-06-10T18:00Z', '2026-06-10T18:00Z', '2026-06-10T18:00Z'),
  ('{PAY_ERIN}', '{O_ERIN}', {ERIN_PAID}, 'online', 'completed', '2026-06-25T10:05Z', '2026-06-25T10:05Z', '2026-06-25T10:05Z');
insert into ops.refunds values
  ('{uid(51)}', '{O_DAN}', '{PAY_DAN}', {DAN_REFUND}, 'completed', 'stain', '2026-06-12T09:00Z', '2026-06-12T09:00Z');
"""


def build(conninfo: str, exclude_identical: bool) -> dict:
    """A full build with the given setting; every mart row the tests read."""
    run_dbt(
        [
            "build",
            "--full-refresh",
            "--vars",
            f"{{as_of_date: '{AS_OF}', exclude_identical_payments: {str(exclude_identical).lower()}}}",
        ],
        capture=True,
    )
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:

        def rows(query: str, *key: str) -> dict:
            return {
                tuple(str(row[k]) for k in key) if len(key) > 1 else str(row[key[0]]): row
                for row in conn.execute(query)
            }

        return {
            "fct": rows("select * from analytics.fct_orders", "order_id"),
            "daily": rows("select * from analytics.daily_revenue_summaries", "date"),
            "partner": rows("select * from analytics.partner_performance_metrics", "partner_id", "date"),
            "customer": rows("select * from analytics.customer_analytics", "user_id"),
            "issues": conn.execute("select * from analytics.data_quality_issues").fetchall(),
        }


@pytest.fixture(scope="module")
def marts(module_warehouse) -> dict[bool, dict]:
    """The marts by setting of exclude_identical_payments (False is the default)."""
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        conn.execute(ROWS)
    # `dbt build` also runs the reconciliation tests: they must pass either way.
    return {setting: build(module_warehouse.conninfo, setting) for setting in (False, True)}


def test_both_halves_are_revenue_of_the_order(marts):
    order = marts[False]["fct"][O_SPLIT]
    assert order["captured_amount"] == order["captured_card_amount"] == HALF + HALF
    assert order["captured_payment_count"] == order["captured_card_payment_count"] == 2


def test_daily_revenue_counts_both_halves(marts):
    june_10 = marts[False]["daily"]["2026-06-10"]  # O_SPLIT (2 halves) and O_DAN, both card
    revenue = HALF + HALF + DAN_PAID
    assert june_10["total_revenue"] == june_10["card_revenue"] == revenue == Decimal("65.00")
    assert june_10["paid_orders"] == 2
    assert june_10["average_order_value"] == revenue / 2 == Decimal("32.50")
    assert june_10["net_revenue"] == revenue - DAN_REFUND


@pytest.mark.parametrize("exclude_identical", [False, True], ids=["default", "opt-in exclusion"])
def test_daily_partner_and_customer_totals_equal_the_captured_payments(marts, exclude_identical):
    # The cross-check of docs/metrics.md: Σ daily total_revenue = Σ customer
    # total_spent = Σ captured payments; Σ partner revenue = Σ captured payments of
    # the orders with a partner (all but Erin's).
    captured = HALF + HALF + BIG_1 + BIG_2 + DAN_PAID + ERIN_PAID  # every completed row: 570.00
    if exclude_identical:
        captured -= HALF  # PAY_SECOND, the later of the identical halves
    built = marts[exclude_identical]
    assert sum(day["total_revenue"] for day in built["daily"].values()) == captured
    assert sum(customer["total_spent"] for customer in built["customer"].values()) == captured
    assert sum(order["captured_amount"] for order in built["fct"].values()) == captured
    assert sum(row["revenue"] for row in built["partner"].values()) == captured - ERIN_PAID


def test_partner_revenue_counts_both_halves(marts):
    assert marts[False]["partner"][(P_NORTH, "2026-06-10")]["revenue"] == HALF + HALF + DAN_PAID


def test_customer_value_and_segment_count_both_halves(marts):
    carla = marts[False]["customer"][CARLA]
    spent = HALF + HALF + BIG_1 + BIG_2  # 500.00: exactly the vip threshold
    assert carla["total_spent"] == carla["lifetime_value"] == spent == Decimal("500.00")
    assert carla["average_order_value"] == spent / 2
    assert carla["customer_segment"] == "vip"
    # card 2 payments, cash 2: a tie, broken by name ascending.
    assert carla["preferred_payment_method"] == "card"
    dan = marts[False]["customer"][DAN]
    assert (dan["total_spent"], dan["lifetime_value"]) == (DAN_PAID, DAN_PAID - DAN_REFUND)


def test_the_later_half_is_reported_as_a_kept_possible_duplicate(marts):
    # The data set is otherwise clean: that row is the only issue.
    assert [
        (i["table_name"], i["record_id"], i["rule"], i["is_excluded"], i["severity"], i["related_record_id"])
        for i in marts[False]["issues"]
    ] == [("payments", PAY_SECOND, "possible_duplicate", False, "warn", PAY_FIRST)]


def test_opting_in_excludes_the_later_half_everywhere(marts):
    kept = marts[True]
    assert kept["fct"][O_SPLIT]["captured_amount"] == HALF
    assert kept["fct"][O_SPLIT]["captured_payment_count"] == 1
    june_10 = kept["daily"]["2026-06-10"]
    assert june_10["total_revenue"] == june_10["card_revenue"] == HALF + DAN_PAID
    assert june_10["average_order_value"] == (HALF + DAN_PAID) / 2 == Decimal("26.25")
    assert kept["partner"][(P_NORTH, "2026-06-10")]["revenue"] == HALF + DAN_PAID
    carla = kept["customer"][CARLA]
    assert carla["lifetime_value"] == HALF + BIG_1 + BIG_2 == Decimal("487.50")
    # Below vip; 2 completed orders is not regular; first order within 30 days of as_of.
    assert carla["customer_segment"] == "new"
    assert carla["preferred_payment_method"] == "cash"  # cash 2 payments, card 1
    assert [
        (i["record_id"], i["rule"], i["is_excluded"], i["severity"], i["related_record_id"]) for i in kept["issues"]
    ] == [(PAY_SECOND, "possible_duplicate", True, "error", PAY_FIRST)]
