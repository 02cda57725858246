"""The demo data generator: deterministic, consistent, realistic, and honest about defects."""

import datetime as dt
import math

import psycopg
import pytest

from laundry_analytics.generate import DEFECT_RULES, MAX_ORDERS, anchor_now, generate, inputs
from laundry_analytics.ops_schema import OPS_TABLES
from laundry_cli.main import main

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=UTC)
RECENT = dict(start=dt.date(2026, 6, 16), end=dt.date(2026, 6, 30), now=NOW)
YEAR = dict(start=dt.date(2025, 7, 1), end=dt.date(2026, 6, 30), now=NOW)


# Two payments identical in everything but the id (a split payment recorded alike).
IDENTICAL_PAYMENTS = """o.id <> t.id and o.order_id = t.order_id and o.amount = t.amount and o.method = t.method
    and o.status = t.status and o.created_at = t.created_at and o.paid_at is not distinct from t.paid_at
    and o.updated_at = t.updated_at"""


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


@pytest.fixture(params=[250_000, 700, 97], ids=["one block", "five blocks", "blocks smaller than a day"])
def clean(conn, request):
    """3,000 orders generated in one block, or in blocks of 700 (the last one
    short), or of 97 (each day, ~200 orders, is dealt out over several blocks):
    every invariant must hold across block boundaries too."""
    summary = generate(conn, orders=3000, seed=11, block_size=request.param, **RECENT)
    return conn, summary


def test_loads_every_table(clean):
    conn, summary = clean
    assert summary.rows["orders"] == 3000
    assert scalar(conn, "select count(distinct order_number) from ops.orders") == 3000
    for table in OPS_TABLES:
        assert summary.rows[table] > 0, table
        assert scalar(conn, f"select count(*) from ops.{table}") == summary.rows[table]


def test_order_numbers_follow_creation_time_and_the_range(clean):
    conn, _ = clean
    assert (
        scalar(
            conn,
            """
        select count(*) from (
            select created_at, lag(created_at) over (order by split_part(order_number, '-', 3)::int) as previous
            from ops.orders) o
        where created_at < previous
    """,
        )
        == 0
    )
    first, last = conn.execute("select min(created_at), max(created_at) from ops.orders").fetchone()
    assert first >= dt.datetime(2026, 6, 16, tzinfo=UTC) and last < NOW


def test_stage_timestamps_are_ordered_and_follow_the_status(clean):
    conn, _ = clean
    assert (
        scalar(
            conn,
            """
        select count(*) from ops.orders
        where accepted_at < created_at or picked_up_at < accepted_at or ready_at < picked_up_at
           or delivered_at < ready_at or cancelled_at < created_at or rejected_at < created_at
    """,
        )
        == 0
    )
    assert scalar(conn, "select count(*) from ops.orders where status = 'completed' and delivered_at is null") == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'rejected' and rejected_at is null") == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'cancelled' and cancelled_at is null") == 0
    assert scalar(conn, "select count(*) from ops.orders where status = 'pending' and accepted_at is not null") == 0
    assert scalar(conn, f"select count(*) from ops.orders where updated_at > '{NOW.isoformat()}'") == 0


def test_amounts_add_up(clean):
    conn, _ = clean
    assert scalar(conn, "select count(*) from ops.order_items where line_total <> quantity * unit_price") == 0
    assert (
        scalar(
            conn,
            """
        select count(*) from ops.orders o
        where total_amount <> (select sum(line_total) from ops.order_items i where i.order_id = o.id)
    """,
        )
        == 0
    )
    # A completed order is paid in full by its captured payments.
    assert (
        scalar(
            conn,
            """
        select count(*) from ops.orders o
        where status = 'completed' and total_amount <> (
            select coalesce(sum(amount), 0) from ops.payments p where p.order_id = o.id and p.status = 'completed')
    """,
        )
        == 0
    )


def test_references_resolve_and_reviews_match_their_order(clean):
    conn, _ = clean
    assert (
        scalar(
            conn,
            """
        select count(*) from ops.orders o left join ops.partners p on p.id = o.partner_id
        where o.partner_id is not null and p.id is null
    """,
        )
        == 0
    )
    assert (
        scalar(
            conn,
            """
        select count(*) from ops.reviews r join ops.orders o on o.id = r.order_id
        where r.partner_id <> o.partner_id or r.customer_id <> o.customer_id or o.status <> 'completed'
    """,
        )
        == 0
    )


def test_looks_like_a_marketplace(clean):
    conn, _ = clean
    statuses = {s for (s,) in conn.execute("select distinct status from ops.orders")}
    assert statuses == {
        "pending",
        "accepted",
        "rejected",
        "picked_up",
        "processing",
        "ready",
        "out_for_delivery",
        "completed",
        "cancelled",
    }
    assert {m for (m,) in conn.execute("select distinct method from ops.payments")} == {
        "cash",
        "card",
        "wallet",
        "online",
    }
    assert {t for (t,) in conn.execute("select distinct issue_type from ops.order_issues")} == {
        "damaged",
        "lost",
        "delay",
        "other",
    }
    assert scalar(conn, "select count(*) from ops.payments where status = 'failed'") > 0
    assert (
        scalar(
            conn,
            "select count(*) from (select order_id from ops.payments where status = 'completed' "
            "group by 1 having count(*) > 1) split",
        )
        > 0
    )
    assert (
        scalar(
            conn,
            "select count(*) from ops.refunds r join ops.payments p on p.id = r.payment_id where r.amount < p.amount",
        )
        > 0
    )  # partial refunds
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
        ("payments", "possible_duplicate"): f"exists (select 1 from ops.payments o where {IDENTICAL_PAYMENTS})",
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
        matching = scalar(
            conn,
            f"select count(*) from ops.{table} t where t.id = any(%s::uuid[]) and ({checks[table, rule]})".replace(
                "%s", "'{" + ",".join(ids) + "}'"
            ),
        )
        assert matching == len(ids), (table, rule)


def test_no_defects_without_messy_fraction(clean):
    assert clean[1].defects == {}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(orders=0), "orders must be at least 1"),
        (dict(messy_fraction=0.7), "messy_fraction"),
        (dict(start=dt.date(2026, 6, 1), end=dt.date(2026, 5, 1)), "is after end"),
        (dict(orders=MAX_ORDERS + 1), "at most 100,000,000"),
        (dict(start=dt.date(1, 1, 1)), "outside the generator's dates"),
        (dict(end=dt.date(9999, 12, 31)), "outside the generator's dates"),
        (dict(end=dt.date(2000, 1, 10)), "start defaults to end - 365 days, which is before 2000-01-01"),
        (dict(now=dt.datetime(2026, 6, 30, 18)), "timezone-aware"),
        (dict(start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 2)), "lies after now"),
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_written(conn, arguments, message):
    generate(conn, orders=50, seed=1, **RECENT)
    before = table_digests(conn)
    with pytest.raises(ValueError, match=message):
        generate(conn, **{"now": NOW, **arguments})
    assert table_digests(conn) == before


def test_split_payments_are_identical_pairs_that_keep_the_order_paid_in_full(conn):
    summary = generate(conn, orders=3000, seed=5, messy_fraction=0.05, **RECENT)
    split = summary.defects[("payments", "possible_duplicate")]
    assert split and len(split) % 2 == 0
    # Each reported row has exactly one identical twin, and the twin is reported too.
    twins = conn.execute(
        f"""
        select t.id::text, o.id::text from ops.payments t join ops.payments o on {IDENTICAL_PAYMENTS}
        where t.id = any(%s::uuid[])""",
        (split,),
    ).fetchall()
    assert len(twins) == len(split)
    assert {twin for _, twin in twins} == set(split)
    # Two halves of one payment: an order with no other defect is still paid exactly its total.
    other_defects = [
        i for key, ids in summary.defects.items() if key != ("payments", "possible_duplicate") for i in ids
    ]
    checked, unpaid = conn.execute(
        """
        select count(*), count(*) filter (where o.total_amount <> (
            select sum(amount) from ops.payments p where p.order_id = o.id and p.status = 'completed'))
        from ops.orders o
        where o.id in (select order_id from ops.payments where id = any(%s::uuid[]))
          and o.id <> all(%s::uuid[])
          and not exists (select 1 from ops.payments p where p.order_id = o.id and p.id = any(%s::uuid[]))
    """,
        (split, other_defects, other_defects),
    ).fetchone()
    assert checked > 0 and unpaid == 0


def test_clean_data_has_no_identical_payments(clean):
    conn, _ = clean
    assert (
        scalar(
            conn,
            f"select count(*) from ops.payments t where exists "
            f"(select 1 from ops.payments o where {IDENTICAL_PAYMENTS})",
        )
        == 0
    )


# No customer holds more than 0.5% of the orders at any size (15 of 3,000; 250 of
# 50,000). The top 1% of customers hold a share that grows with the run until that
# cap stops binding: at 3,000 orders (~1,200 customers) the top 12 can hold at most
# 12 x 15 = 6% of the orders; from ~50,000 orders on, the binding cap is about one
# order a day and the heavy tail (Pareto index 1.3) gives them about a quarter,
# within the 15-35% an e-commerce marketplace typically sees.
@pytest.mark.parametrize("orders, top_percent_share", [(3_000, (0.03, 0.08)), (50_000, (0.15, 0.35))])
def test_customers_have_a_heavy_tail_but_none_holds_a_large_share(conn, orders, top_percent_share):
    generate(conn, orders=orders, seed=8, **YEAR)
    counts = sorted((n for (n,) in conn.execute("select count(*) from ops.orders group by customer_id")), reverse=True)
    assert sum(counts) == orders
    assert counts[0] <= 0.005 * orders
    low, high = top_percent_share
    assert low <= sum(counts[: math.ceil(len(counts) / 100)]) / orders <= high


def test_the_clock_is_now_or_the_end_of_a_past_end_day_else_the_start_of_the_hour(monkeypatch):
    monkeypatch.setattr(inputs, "utc_now", lambda: dt.datetime(2026, 7, 3, 14, 25, 7, tzinfo=UTC))
    assert anchor_now(dt.date(2026, 6, 30), NOW) == (NOW, False)
    assert anchor_now(dt.date(2026, 6, 30)) == (dt.datetime(2026, 7, 1, tzinfo=UTC), False)
    assert anchor_now(dt.date(2026, 7, 3)) == (dt.datetime(2026, 7, 3, 14, tzinfo=UTC), True)  # today: not over
    assert anchor_now(None) == (dt.datetime(2026, 7, 3, 14, tzinfo=UTC), True)


def test_the_wall_clock_is_not_read_when_now_is_given(conn, monkeypatch):
    def wall_clock():
        raise AssertionError("the generator read the wall clock")

    monkeypatch.setattr(inputs, "utc_now", wall_clock)
    assert generate(conn, orders=300, seed=3, **RECENT).rows["orders"] == 300


@pytest.mark.parametrize("arguments", [RECENT, dict(end=dt.date(2026, 6, 30))], ids=["now given", "end passed"])
def test_same_arguments_same_rows_whatever_the_wall_clock(conn, monkeypatch, arguments):
    digests = []
    for wall in (dt.datetime(2026, 7, 1, 9, 5, tzinfo=UTC), dt.datetime(2027, 1, 15, 23, 59, tzinfo=UTC)):
        monkeypatch.setattr(inputs, "utc_now", lambda wall=wall: wall)
        generate(conn, orders=800, seed=3, **arguments)
        digests.append(table_digests(conn))
    assert digests[0] == digests[1]


def test_without_clock_or_end_the_rows_are_those_of_the_hour_start(conn, monkeypatch):
    monkeypatch.setattr(inputs, "utc_now", lambda: dt.datetime(2026, 6, 30, 18, 42, 9, tzinfo=UTC))
    generate(conn, orders=800, seed=3)
    anchored = table_digests(conn)
    generate(conn, orders=800, seed=3, now=NOW)  # 18:00, the start of that hour
    assert table_digests(conn) == anchored


# --- through the command line -------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(module_warehouse):
    """A warehouse with 50 generated orders, shared by tests that must not change it."""
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        generate(connection, orders=50, seed=1, **RECENT)
        yield connection, table_digests(connection)


@pytest.mark.parametrize("command", ["generate", "demo"])
@pytest.mark.parametrize(
    "options, message",
    [
        (["--orders", "1000000000000"], "more than the generator's limit of 100,000,000"),
        (["--end", "9999-12-31"], "outside the generator's dates"),
        (["--start", "0001-01-01"], "outside the generator's dates"),
        (["--end", "0001-01-10"], "outside the generator's dates"),
        (["--end", "2000-01-10"], "start defaults to end - 365 days, which is before 2000-01-01"),
        (["--start", "20260101"], "write it as YYYY-MM-DD"),
        (["--end", "2026-W01-1"], "write it as YYYY-MM-DD"),
        (["--now", "2026-06-30"], "write it as YYYY-MM-DDTHH:MM"),
        (["--now", "9999-12-31T23:00:00Z"], "outside the generator's dates"),
        (["--start", "2026-07-01", "--end", "2026-07-02", "--now", "2026-06-30T18:00:00Z"], "lies after now"),
        (["--start", "2026-07-01", "--now", "2026-06-30T18:00:00Z"], "start 2026-07-01 is after end 2026-06-30"),
    ],
)
def test_bad_generation_input_exits_2_with_a_sentence_and_loads_nothing(loaded, capsys, command, options, message):
    conn, before = loaded
    try:
        code = main([command, *options])
    except SystemExit as exit_info:  # refused by the argument parser
        code = exit_info.code
    assert code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert table_digests(conn) == before


def test_the_command_with_a_past_end_gives_the_same_rows_on_any_day(conn, monkeypatch):
    command = ["generate", "--orders", "600", "--seed", "2", "--end", "2026-06-30"]
    digests = []
    for wall in (dt.datetime(2026, 7, 1, 9, 5, tzinfo=UTC), dt.datetime(2027, 3, 2, 23, 59, tzinfo=UTC)):
        monkeypatch.setattr(inputs, "utc_now", lambda wall=wall: wall)
        assert main(command) == 0
        digests.append(table_digests(conn))
    assert main([*command, "--now", "2026-07-01T00:00:00Z"]) == 0  # the end of the --end day
    assert digests[0] == digests[1] == table_digests(conn)


def test_the_command_without_a_clock_prints_the_command_that_gives_the_same_rows(conn, monkeypatch, capsys):
    monkeypatch.setattr(inputs, "utc_now", lambda: dt.datetime(2026, 6, 30, 18, 42, tzinfo=UTC))
    assert main(["generate", "--orders", "600", "--seed", "2"]) == 0
    rows = table_digests(conn)
    out = capsys.readouterr().out
    assert "generator clock 2026-06-30T18:00:00Z, the start of the current UTC hour" in out
    again = next(line.split() for line in out.splitlines() if "--now" in line)
    assert again == ["laundry-analytics", "generate", "--orders", "600", "--seed", "2", "--now", "2026-06-30T18:00:00Z"]
    monkeypatch.setattr(inputs, "utc_now", lambda: dt.datetime(2026, 7, 9, 7, 0, tzinfo=UTC))  # days later
    assert main(again[1:]) == 0
    assert table_digests(conn) == rows


def test_memory_stays_bounded_by_the_block_not_the_orders(conn):
    """Ten times the orders, the same peak memory: orders are generated and loaded
    one block at a time (before, the generator held one array entry per order).
    tracemalloc counts Python's and numpy's allocations."""
    import tracemalloc

    def peak(orders: int) -> int:
        tracemalloc.start()
        try:
            generate(conn, orders=orders, seed=3, block_size=500, **YEAR)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(500)  # first use: imports and caches, not the orders
    small, large = peak(2_000), peak(20_000)
    assert large < 1.5 * small, (small, large)
