"""fct_orders and the staging defect flags on a small hand-built dataset.

The business time zone is America/New_York (EDT = UTC-4 in July, EST = UTC-5 in
January), so local dates differ from UTC dates near midnight. Every expected value
below is worked out by hand from the rows inserted here.
"""

from decimal import Decimal

import psycopg
import pytest

from laundry_analytics.dbt_runner import run_dbt


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


U_ALICE, U_BOB, U_NOMAIL, U_ALICE_AGAIN = uid(1), uid(2), uid(3), uid(4)
P_FAST, P_NOCITY = uid(11), uid(12)
CAT_WASH, SVC_WASH, SVC_IRON = uid(21), uid(22), uid(23)
O_COMPLETED, O_LATE_NIGHT, O_REJECTED, O_NEGATIVE, O_ON_HOLD, O_WINTER = (uid(n) for n in range(31, 37))
PAY_FAILED, PAY_CARD, PAY_WALLET, PAY_NEGATIVE, PAY_DUP_A, PAY_DUP_B, PAY_CRYPTO, PAY_ORPHAN = (
    uid(n) for n in range(41, 49)
)
REF_DONE, REF_PENDING, REF_NEGATIVE = uid(51), uid(52), uid(53)
ISSUE_ODD, ISSUE_LOST = uid(61), uid(62)
ITEM_BAD = uid(79)

ROWS = f"""
insert into ops.users values
  ('{U_ALICE}', 'alice@example.com', 'Alice A', '555-0101', '2026-01-01T00:00Z', true, false),
  ('{U_BOB}', 'bob@example.com', 'Bob B', null, '2026-01-02T00:00Z', true, false),
  ('{U_NOMAIL}', null, 'No Mail', null, '2026-01-03T00:00Z', true, false),
  ('{U_ALICE_AGAIN}', ' Alice@Example.com', 'Alice Again', null, '2026-02-01T00:00Z', true, false);
insert into ops.partners values
  ('{P_FAST}', 'Fast Wash', 'Lisbon', 10, true, '2025-12-01T00:00Z'),
  ('{P_NOCITY}', 'Nowhere Clean', null, null, true, '2025-12-01T00:00Z');
insert into ops.service_categories values ('{CAT_WASH}', 'Wash & Fold');
insert into ops.services values
  ('{SVC_WASH}', '{CAT_WASH}', 'Wash 5kg', 5.00, true),
  ('{SVC_IRON}', '{CAT_WASH}', 'Iron shirt', 2.50, true);

-- Completed: accepted +10 min, picked up +60, ready +240, delivered +90 (total 400).
insert into ops.orders values
  ('{O_COMPLETED}', 'LC-1', '{U_ALICE}', '{P_FAST}', 'completed', 25.00,
   '2026-07-10T12:00Z', '2026-07-10T12:10Z', null, '2026-07-10T13:10Z', '2026-07-10T17:10Z',
   '2026-07-10T18:40Z', null, '2026-07-10T18:40Z'),
-- 03:30 UTC on 11 July is 23:30 EDT on Friday 10 July.
  ('{O_LATE_NIGHT}', 'LC-2', '{U_BOB}', '{P_FAST}', ' Cancelled ', 10.00,
   '2026-07-11T03:30Z', null, null, null, null, null, '2026-07-11T04:00Z', '2026-07-11T04:00Z'),
  ('{O_REJECTED}', 'LC-3', '{U_BOB}', '{P_FAST}', 'rejected', 5.00,
   '2026-07-12T10:00Z', null, '2026-07-12T10:05Z', null, null, null, null, '2026-07-12T10:05Z'),
-- Picked up 30 min BEFORE it was accepted: pickup duration is a defect.
  ('{O_NEGATIVE}', 'LC-4', '{U_ALICE}', '{P_NOCITY}', 'completed', 99.00,
   '2026-07-12T10:00Z', '2026-07-12T11:00Z', null, '2026-07-12T10:30Z', '2026-07-12T12:00Z',
   '2026-07-12T13:00Z', null, '2026-07-12T13:00Z'),
  ('{O_ON_HOLD}', 'LC-5', '{U_NOMAIL}', null, 'on_hold', 5.00,
   '2026-07-12T10:00Z', null, null, null, null, null, null, '2026-07-12T10:00Z'),
-- 04:30 UTC on 15 January is 23:30 EST on Wednesday 14 January.
  ('{O_WINTER}', 'LC-6', '{U_ALICE_AGAIN}', '{P_FAST}', 'pending', 5.00,
   '2026-01-15T04:30Z', null, null, null, null, null, null, '2026-01-15T04:30Z');

insert into ops.order_items values
  ('{uid(71)}', '{O_COMPLETED}', '{SVC_WASH}', 2, 5.00, 10.00),
  ('{uid(72)}', '{O_COMPLETED}', '{SVC_IRON}', 6, 2.50, 15.00),
  ('{uid(73)}', '{O_LATE_NIGHT}', '{SVC_WASH}', 2, 5.00, 10.00),
  ('{uid(74)}', '{O_REJECTED}', '{SVC_WASH}', 1, 5.00, 5.00),
  ('{uid(75)}', '{O_NEGATIVE}', '{SVC_WASH}', 1, 5.00, 5.00),
  ('{uid(76)}', '{O_ON_HOLD}', '{SVC_WASH}', 1, 5.00, 5.00),
  ('{ITEM_BAD}', '{O_WINTER}', '{SVC_WASH}', 1, 5.00, 5.50);

-- O_COMPLETED: a failed attempt, then 10.00 by card and 15.00 by wallet.
insert into ops.payments values
  ('{PAY_FAILED}', '{O_COMPLETED}', 25.00, 'card', 'failed', '2026-07-10T12:00Z', null, '2026-07-10T12:00Z'),
  ('{PAY_CARD}', '{O_COMPLETED}', 10.00, 'CARD', 'completed', '2026-07-10T12:01Z', '2026-07-10T12:01Z', '2026-07-10T12:01Z'),
  ('{PAY_WALLET}', '{O_COMPLETED}', 15.00, 'wallet', 'completed', '2026-07-10T12:02Z', '2026-07-10T12:02Z', '2026-07-10T12:02Z'),
-- O_NEGATIVE: a negative "payment" (excluded), two identical 5.00 cash rows (a split
-- payment: both count, the later id is flagged possible_duplicate), and 3.00
-- captured by an unknown method (counts, but in no method column).
  ('{PAY_NEGATIVE}', '{O_NEGATIVE}', -4.00, 'cash', 'completed', '2026-07-12T13:00Z', '2026-07-12T13:00Z', '2026-07-12T13:00Z'),
  ('{PAY_DUP_A}', '{O_NEGATIVE}', 5.00, 'cash', 'completed', '2026-07-12T13:00Z', '2026-07-12T13:00Z', '2026-07-12T13:00Z'),
  ('{PAY_DUP_B}', '{O_NEGATIVE}', 5.00, 'cash', 'completed', '2026-07-12T13:00Z', '2026-07-12T13:00Z', '2026-07-12T13:00Z'),
  ('{PAY_CRYPTO}', '{O_NEGATIVE}', 3.00, 'crypto', 'completed', '2026-07-12T13:00Z', '2026-07-12T13:05Z', '2026-07-12T13:05Z');

insert into ops.refunds values
  ('{REF_DONE}', '{O_COMPLETED}', '{PAY_WALLET}', 5.00, 'completed', 'stain', '2026-07-11T09:00Z', '2026-07-11T09:00Z'),
  ('{REF_PENDING}', '{O_COMPLETED}', null, 3.00, 'pending', 'late', '2026-07-11T09:00Z', '2026-07-11T09:00Z'),
  ('{REF_NEGATIVE}', '{O_NEGATIVE}', null, -1.00, 'completed', 'oops', '2026-07-13T09:00Z', '2026-07-13T09:00Z');

insert into ops.reviews values
  ('{uid(81)}', '{O_COMPLETED}', '{U_ALICE}', '{P_FAST}', 4, 'good', '2026-07-11T08:00Z');
insert into ops.order_issues values
  ('{ISSUE_ODD}', '{O_COMPLETED}', 'missing_button', 'a button', '2026-07-11T08:00Z'),
  ('{ISSUE_LOST}', '{O_COMPLETED}', 'lost', 'a sock', '2026-07-11T08:00Z');
"""

# A payment of an order that does not exist, as on a replica without foreign keys.
ORPHAN = f"""
set session_replication_role = replica;
insert into ops.payments values
  ('{PAY_ORPHAN}', '{uid(999)}', 7.00, 'cash', 'completed', '2026-07-12T13:00Z', '2026-07-12T13:00Z', '2026-07-12T13:00Z');
set session_replication_role = origin;
"""


@pytest.fixture(scope="module")
def built(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        conn.execute(ROWS)
        conn.execute(ORPHAN)
    run_dbt(["build", "--vars", "{business_timezone: America/New_York}"], capture=True)
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        conn.row_factory = psycopg.rows.dict_row
        orders = {row["order_id"].__str__(): row for row in conn.execute("select * from analytics.fct_orders")}
        issues = {
            (row["table_name"], row["record_id"], row["rule"]): row["is_excluded"]
            for row in conn.execute("select * from analytics.data_quality_issues")
        }
    return orders, issues


@pytest.fixture(scope="module")
def issue_rows(built, module_warehouse):
    """Every column of data_quality_issues, by (table, record, rule)."""
    with psycopg.connect(module_warehouse.conninfo, row_factory=psycopg.rows.dict_row) as conn:
        return {
            (row["table_name"], row["record_id"], row["rule"]): row
            for row in conn.execute("select * from analytics.data_quality_issues")
        }


def test_one_row_per_order(built):
    orders, _ = built
    assert set(orders) == {O_COMPLETED, O_LATE_NIGHT, O_REJECTED, O_NEGATIVE, O_ON_HOLD, O_WINTER}


def test_captured_payments_and_refunds_of_a_completed_order(built):
    order = built[0][O_COMPLETED]
    assert order["captured_amount"] == Decimal("25.00")  # failed attempt is not revenue
    assert order["captured_payment_count"] == 2
    assert order["captured_card_amount"] == Decimal("10.00")
    assert order["captured_wallet_amount"] == Decimal("15.00")
    assert order["captured_cash_amount"] == Decimal("0.00")
    assert order["refunded_amount"] == Decimal("5.00")  # the pending refund does not count
    assert order["refund_count"] == 1
    assert order["net_amount"] == Decimal("20.00")
    assert order["items_quantity"] == 8
    assert (order["rating"], order["issues_reported"], order["items_lost"]) == (4, 2, 1)


def test_durations_in_minutes(built):
    order = built[0][O_COMPLETED]
    assert [
        order[c]
        for c in ("acceptance_minutes", "pickup_minutes", "processing_minutes", "delivery_minutes", "total_minutes")
    ] == [10, 60, 240, 90, 400]


def test_negative_duration_is_null_and_flagged(built):
    order = built[0][O_NEGATIVE]
    assert order["pickup_minutes"] is None
    assert order["acceptance_minutes"] == 60
    assert order["has_negative_duration"] is True
    assert "negative_duration" in order["dq_reason"]


def test_excluded_and_unknown_method_payments(built):
    order = built[0][O_NEGATIVE]
    # -4.00 excluded; both identical 5.00 rows are payments; 3.00 "crypto" kept.
    assert order["captured_amount"] == Decimal("5.00") + Decimal("5.00") + Decimal("3.00")
    assert order["captured_cash_amount"] == Decimal("10.00")
    assert order["captured_payment_count"] == 3
    assert order["refunded_amount"] == Decimal("0.00")  # the negative refund is excluded


def test_status_flags_rejected_counts_as_cancelled(built):
    orders = built[0]
    assert orders[O_LATE_NIGHT]["status"] == "cancelled"  # ' Cancelled ' normalised
    assert orders[O_REJECTED]["is_cancelled"] and orders[O_REJECTED]["is_rejected"]
    assert orders[O_ON_HOLD]["status"] == "unknown"
    assert orders[O_ON_HOLD]["is_open"] and not orders[O_ON_HOLD]["is_cancelled"]
    assert orders[O_COMPLETED]["is_completed"] and not orders[O_COMPLETED]["is_open"]


def test_local_date_hour_and_weekday_in_the_business_time_zone(built):
    import datetime as dt

    summer = built[0][O_LATE_NIGHT]  # EDT
    assert (summer["order_date"], summer["order_hour"], summer["order_day_of_week"]) == (dt.date(2026, 7, 10), 23, 4)
    winter = built[0][O_WINTER]  # EST
    assert (winter["order_date"], winter["order_hour"], winter["order_day_of_week"]) == (dt.date(2026, 1, 14), 23, 2)


@pytest.mark.parametrize(
    "table, record, rule, excluded",
    [
        ("orders", O_ON_HOLD, "unknown_status", False),
        ("orders", O_NEGATIVE, "negative_duration", False),
        ("orders", O_NEGATIVE, "amount_mismatch", False),
        ("orders", O_ON_HOLD, "orphan_partner_id", None),  # NULL partner is no orphan
        ("order_items", ITEM_BAD, "line_total_mismatch", False),
        ("payments", PAY_NEGATIVE, "negative_amount", True),
        ("payments", PAY_CRYPTO, "unknown_method", False),
        ("payments", PAY_ORPHAN, "orphan_order_id", True),
        ("refunds", REF_NEGATIVE, "negative_amount", True),
        ("order_issues", ISSUE_ODD, "unknown_issue_type", False),
        ("users", U_NOMAIL, "missing_email", False),
        ("users", U_ALICE_AGAIN, "duplicate_email", False),
        ("partners", P_NOCITY, "missing_city", False),
    ],
)
def test_defects_are_reported_with_their_rule(built, table, record, rule, excluded):
    _, issues = built
    assert issues.get((table, record, rule)) is excluded


def test_identical_payments_are_kept_and_the_later_id_points_at_the_earlier(built, issue_rows):
    _, issues = built
    assert ("payments", PAY_DUP_A, "possible_duplicate") not in issues
    row = issue_rows[("payments", PAY_DUP_B, "possible_duplicate")]
    assert (row["is_excluded"], row["severity"], row["related_record_id"]) == (False, "warn", PAY_DUP_A)


def test_severity_follows_exclusion_and_only_look_alikes_have_a_related_record(issue_rows):
    for key, row in issue_rows.items():
        assert row["severity"] == ("error" if row["is_excluded"] else "warn"), key
        assert (row["related_record_id"] is not None) == (row["rule"] == "possible_duplicate"), key


def test_clean_rows_are_not_reported(built):
    _, issues = built
    reported = {record for (_, record, _) in issues}
    assert not reported & {O_COMPLETED, O_LATE_NIGHT, O_REJECTED, PAY_CARD, PAY_WALLET, U_ALICE, U_BOB, P_FAST}
