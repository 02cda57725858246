"""The demo data generator: deterministic, consistent, realistic, and honest about defects."""

import datetime as dt

import pytest

from laundry_analytics.generate import DEFECT_RULES, generate
from laundry_analytics.ops_schema import OPS_TABLES

NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.timezone.utc)
RECENT = dict(start=dt.date(2026, 6, 16), end=dt.date(2026, 6, 30), now=NOW)


def table_digests(conn) -> dict[str, str]:
    return {
        table: conn.execute(f"select md5(string_agg(t::text, '|' order by t.id)) from ops.{table} t").fetchone()[0]
        for table in OPS_TABLES
    }


def scalar(conn, query: str):
    return conn.execute(query).fetchone()[0]


def test_same_seed_same_bytes_other_seed_other_data(conn):
    generate(conn, orders=800, seed=3, **RECENT)
    first = table_digests(conn)
    generate(conn, orders=800, seed=3, **RECENT)
    assert table_digests(conn) == first
    generate(conn, orders=800, seed=4, **RECENT)
    assert table_digests(conn)["orders"] != first["orders"]


@pytest.fixture(params=[250_000, 700], ids=["one block", "five blocks"])
def clean(conn, request):
    """3,000 orders generated in one block, or in blocks of 700 (the last one
    short): every invariant must hold across block boundaries too."""
    summary = generate(conn, orders=3000, seed=11, block_size=request.param, **RECENT)
    return conn, summary


def test_loads_every_table(clean):
    conn, summary = clean
    assert summary.rows["orders"] == 3000
    assert scalar(conn, "select count(distinct order_number) from ops.orders") == 3000
    for table in OPS_TABLES:
        assert summary.rows[table] > 0, table
        assert scalar(conn, f"select count(*) from ops.{table}") == summary.rows[table]


def test_stage_timestamps_are_ordered_and_follow_the_status(clean):
    conn, _ = clean
    assert scalar(conn, """
        select count(*) from ops.orders
        where accepted_at < created_at or picked_up_at < accepted_at or ready_at < picked_up_at
           or delivered_at < ready_at or cancelled_at < created_at or rejected_at < created_at
    """) == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'completed' and delivered_at is null") == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'rejected' and rejected_at is null") == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'cancelled' and cancelled_at is null") == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'pending' and accepted_at is not null") == 0
    assert scalar(conn, f"select count(*) from ops.orders where updated_at > '{NOW.isoformat()}'") == 0


def test_amounts_add_up(clean):
    conn, _ = clean
    assert scalar(conn, "select count(*) from ops.order_items where line_total <> quantity * unit_price") == 0
    assert scalar(conn, """
        select count(*) from ops.orders o
        where total_amount <> (select sum(line_total) from ops.order_items i where i.order_id = o.id)
    """) == 0
    # A completed order is paid in full by its captured payments.
    assert scalar(conn, """
        select count(*) from ops.orders o
        where status = 'completed' and total_amount <> (
            select coalesce(sum(amount), 0) from ops.payments p where p.order_id = o.id and p.status = 'completed')
    """) == 0


def test_references_resolve_and_reviews_match_their_order(clean):
    conn, _ = clean
    assert scalar(conn, """
        select count(*) from ops.orders o left join ops.partners p on p.id = o.partner_id
        where o.partner_id is not null and p.id is null
    """) == 0
    assert scalar(conn, """
        select count(*) from ops.reviews r join ops.orders o on o.id = r.order_id
        where r.partner_id <> o.partner_id or r.customer_id <> o.customer_id or o.status <> 'completed'
    """) == 0


def test_looks_like_a_marketplace(clean):
    conn, _ = clean
    statuses = {s for (s,) in conn.execute("select distinct status from ops.orders")}
    assert statuses == {"pending", "accepted", "rejected", "picked_up", "processing", "ready",
                        "out_for_delivery", "completed", "cancelled"}
    assert {m for (m,) in conn.execute("select distinct method from ops.payments")} == {"cash", "card", "wallet", "online"}
    assert {t for (t,) in conn.execute("select distinct issue_type from ops.order_issues")} == {
        "damaged", "lost", "delay", "other"}
    assert scalar(conn, "select count(*) from ops.payments where status = 'failed'") > 0
    assert scalar(conn, "select count(*) from (select order_id from ops.payments where status = 'completed' "
                        "group by 1 having count(*) > 1) split") > 0
    assert scalar(conn, "select count(*) from ops.refunds r join ops.payments p on p.id = r.payment_id "
                        "where r.amount < p.amount") > 0  # partial refunds
    # Open orders without a partner, and repeat customers (a few with many orders).
    assert scalar(conn, "select count(*) from ops.orders where partner_id is null and status = 'pending'") > 0
    assert scalar(conn, "select count(*) from ops.orders where partner_id is null and status <> 'pending'") == 0
    top, median = conn.execute("""
        select max(n), percentile_cont(0.5) within group (order by n)
        from (select count(*) n from ops.orders group by customer_id) c
    """).fetchone()
    assert top >= 5 * median


@pytest.mark.parametrize("block_size", [250_000, 1000])
def test_messy_fraction_injects_each_defect_it_reports(conn, block_size):
    summary = generate(conn, orders=3000, seed=5, messy_fraction=0.05, block_size=block_size, **RECENT)
    assert set(summary.defects) == set(DEFECT_RULES)
    checks = {
        ("orders", "unknown_status"): "lower(trim(status)) not in ('pending','accepted','rejected','picked_up',"
                                      "'processing','ready','out_for_delivery','completed','cancelled')",
        ("orders", "negative_duration"): "picked_up_at < accepted_at or delivered_at < ready_at",
        ("orders", "missing_timestamp"): "status = 'completed' and delivered_at is null",
        ("orders", "amount_mismatch"): "total_amount <> (select sum(line_total) from ops.order_items i "
                                       "where i.order_id = t.id)",
        ("order_items", "line_total_mismatch"): "line_total <> quantity * unit_price",
        ("payments", "unknown_method"): "method not in ('cash','card','wallet','online')",
        ("payments", "unknown_status"): "status not in ('pending','completed','failed')",
        ("payments", "negative_amount"): "amount < 0",
        ("payments", "duplicate"): "exists (select 1 from ops.payments o where o.id <> t.id and o.order_id = t.order_id "
                                   "and o.amount = t.amount and o.created_at = t.created_at)",
        ("payments", "missing_paid_at"): "status = 'completed' and paid_at is null",
        ("refunds", "unknown_status"): "status not in ('pending','completed','failed')",
        ("refunds", "negative_amount"): "amount < 0",
        ("order_issues", "unknown_issue_type"): "issue_type not in ('damaged','lost','delay','other')",
        ("users", "missing_email"): "email is null",
        ("users", "duplicate_email"): "exists (select 1 from ops.users o where o.id <> t.id "
                                      "and lower(o.email) = lower(t.email) and o.date_joined < t.date_joined)",
        ("partners", "missing_city"): "city is null",
    }
    for (table, rule), ids in summary.defects.items():
        assert ids, (table, rule)
        matching = scalar(conn, f"select count(*) from ops.{table} t where t.id = any(%s::uuid[]) and ({checks[table, rule]})"
                          .replace("%s", "'{" + ",".join(ids) + "}'"))
        assert matching == len(ids), (table, rule)


def test_no_defects_without_messy_fraction(clean):
    assert clean[1].defects == {}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(orders=0), "orders must be at least 1"),
        (dict(messy_fraction=0.7), "messy_fraction"),
        (dict(start=dt.date(2026, 6, 1), end=dt.date(2026, 5, 1)), "is after end"),
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_written(conn, arguments, message):
    generate(conn, orders=50, seed=1, **RECENT)
    before = table_digests(conn)
    with pytest.raises(ValueError, match=message):
        generate(conn, **{"now": NOW, **arguments})
    assert table_digests(conn) == before
