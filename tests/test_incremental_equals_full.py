"""After any sequence of late source changes, incremental runs give exactly the rows
a full refresh gives (docs/metrics.md cross-check), every column of every row.

Each seed: build, then twice (apply a batch of random late changes; incremental
run), then compare every mart with a --full-refresh of the same sources.
"""

import datetime as dt

import psycopg
import pytest

from laundry_analytics import database, ops_schema
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

NOW = dt.datetime(2026, 6, 30, 18, 0, tzinfo=dt.timezone.utc)
VARS = "{as_of_date: '2026-06-30'}"
SELECT = [
    "--select",
    "+daily_revenue_summaries",
    "+partner_performance_metrics",
    "+customer_analytics",
    "+fct_order_items",
    "+agg_orders_daily",
    "+agg_item_sales_daily",
    "+agg_customers_daily",
    "+agg_partner_periods",
]
COMPARED = {
    "analytics.fct_orders": "order_id",
    "analytics.fct_order_items": "order_item_id",
    "analytics.daily_revenue_summaries": "date",
    "analytics.partner_performance_metrics": "partner_id, date",
    "intermediate.int_customer_order_summary": "customer_id",
    "intermediate.int_customer_category_quantities": "customer_id, service_category_name",
    "intermediate.int_customers_daily": "order_date",
    "analytics.customer_analytics": "user_id",
    "analytics.agg_orders_daily": "order_date, status, order_hour, has_partner",
    "analytics.agg_item_sales_daily": "order_date, is_paid, service_category_name, service_name, is_category_total",
    "analytics.agg_customers_daily": "first_order_date, customer_segment, is_at_churn_risk",
    "analytics.agg_partner_periods": "partner_id, period, period_start",
}

# Late changes, applied with timestamps after everything already loaded (the
# application's clock moves on). Random choices come from setseed() per batch.
LATE_CHANGES = [
    # A payment captured days later on an old, unpaid or partly paid order.
    """insert into ops.payments
       select gen_random_uuid(), o.id, round((random() * 40 + 5)::numeric, 2), (array['cash','card','wallet','online'])[1 + floor(random() * 4)::int],
              'completed', clock_timestamp(), clock_timestamp(), clock_timestamp()
       from ops.orders o order by random() limit 15""",
    # Old orders paid late in two identical halves (a split payment: both rows count).
    """insert into ops.payments
       select gen_random_uuid(), o.id, 7.50, 'card', 'completed', now(), now(), now()
       from (select id from ops.orders order by random() limit 3) as o, generate_series(1, 2)""",
    # A failed payment that turns out to have gone through.
    """update ops.payments set status = 'completed', paid_at = clock_timestamp(), updated_at = clock_timestamp()
       where id in (select id from ops.payments where status = 'failed' order by random() limit 5)""",
    # Refunds next month on old orders, completed or not.
    """insert into ops.refunds
       select gen_random_uuid(), p.order_id, p.id, round(p.amount * 0.5, 2), (array['completed','pending','completed'])[1 + floor(random() * 3)::int],
              'late complaint', clock_timestamp(), clock_timestamp()
       from ops.payments p where p.status = 'completed' order by random() limit 10""",
    # Status changes on orders months old: cancellations and late completions.
    """update ops.orders set status = 'cancelled', cancelled_at = clock_timestamp(), updated_at = clock_timestamp()
       where id in (select id from ops.orders order by random() limit 8)""",
    """update ops.orders set status = 'completed', delivered_at = clock_timestamp(), updated_at = clock_timestamp()
       where id in (select id from ops.orders where status not in ('completed', 'cancelled', 'rejected')
                    order by random() limit 5)""",
    # A partner hands orders over to another partner (old dates lose and gain rows).
    """update ops.orders set partner_id = (select id from ops.partners order by random() limit 1), updated_at = clock_timestamp()
       where id in (select id from ops.orders where partner_id is not null order by random() limit 6)""",
    # Every order of one old day is unassigned: that day must vanish from the partner mart.
    """update ops.orders set partner_id = null, updated_at = clock_timestamp()
       where created_at::date = (select created_at::date from ops.orders order by random() limit 1)""",
    # An old order's items corrected: a line added, a quantity changed (the app bumps the order).
    """with touched as (select id from ops.orders order by random() limit 4),
       added as (
           insert into ops.order_items
           select gen_random_uuid(), t.id, (select id from ops.services order by random() limit 1), 1, 4.50, 4.50
           from touched t returning order_id),
       changed as (
           update ops.order_items set quantity = quantity + 1, line_total = (quantity + 1) * unit_price
           where id in (select id from ops.order_items order by random() limit 4) returning order_id)
       update ops.orders set updated_at = clock_timestamp()
       where id in (select order_id from added union select order_id from changed)""",
    # Reviews a week later and issues on old orders.
    """insert into ops.reviews
       select gen_random_uuid(), o.id, o.customer_id, o.partner_id, 1 + floor(random() * 5)::int, 'late review', clock_timestamp()
       from ops.orders o where o.partner_id is not null and not exists (select 1 from ops.reviews r where r.order_id = o.id)
       order by random() limit 10""",
    """insert into ops.order_issues
       select gen_random_uuid(), o.id, (array['damaged','lost','delay','other'])[1 + floor(random() * 4)::int], 'late issue', clock_timestamp()
       from ops.orders o order by random() limit 8""",
    # An old order loaded late (created months ago, written now) for customers who had
    # ordered only after it: their first order date moves earlier, out of one
    # agg_customers_daily date and into another.
    """insert into ops.orders (id, order_number, customer_id, partner_id, status, total_amount, created_at, updated_at)
       select gen_random_uuid(), 'LC-BACKFILL-' || floor(random() * 1e12)::text, c.customer_id,
              (select id from ops.partners order by random() limit 1), 'completed', 9.00,
              c.first_at - interval '20 days', clock_timestamp()
       from (select customer_id, min(created_at) as first_at from ops.orders group by customer_id
             order by random() limit 3) as c""",
    # New orders today, with items and a payment, some from brand-new customers.
    """with new_customers as (
           insert into ops.users
           select gen_random_uuid(), 'new' || g || '-' || floor(random() * 1e9)::text || '@example.com', 'New', null, clock_timestamp(), true, false
           from generate_series(1, 3) g returning id),
       customers as (
           select id from new_customers union all (select id from ops.users order by random() limit 5)),
       new_orders as (
           insert into ops.orders (id, order_number, customer_id, partner_id, status, total_amount, created_at, updated_at)
           select gen_random_uuid(), 'LC-LATE-' || floor(random() * 1e12)::text, c.id,
                  (select id from ops.partners order by random() limit 1), 'pending', 12.00, clock_timestamp(), clock_timestamp()
           from customers c returning id),
       new_items as (
           insert into ops.order_items
           select gen_random_uuid(), n.id, (select id from ops.services order by random() limit 1), 2, 6.00, 12.00
           from new_orders n returning order_id)
       insert into ops.payments
       select gen_random_uuid(), order_id, 12.00, 'card', 'completed', clock_timestamp(), clock_timestamp(), clock_timestamp()
       from new_items""",
]


BACKFILLED_ORDERS = next(statement for statement in LATE_CHANGES if "LC-BACKFILL" in statement)


def apply_late_changes(conninfo: str, seed: float, statements: list[str] = LATE_CHANGES) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("select setseed(%s)", (seed,))
        for statement in statements:
            conn.execute(statement)


def snapshot(conninfo: str) -> dict[str, list]:
    """Every column of every row (except the refresh bookkeeping), ordered by key."""
    with psycopg.connect(conninfo) as conn:
        return {
            table: conn.execute(
                f"select to_jsonb(t) - 'refreshed_at' - 'changes_applied_through' from {table} t order by {key}"
            ).fetchall()
            for table, key in COMPARED.items()
        }


def describe_difference(incremental: list, full: list) -> str:
    extra = [row for row in incremental if row not in full][:2]
    missing = [row for row in full if row not in incremental][:2]
    return f"{len(incremental)} vs {len(full)} rows; only incremental: {extra}; only full: {missing}"


def built_warehouse(make_database, *, orders: int, seed: int, start: dt.date):
    """A new database with a generated, slightly messy marketplace up to NOW, built once."""
    info = make_database()
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        generate(conn, orders=orders, seed=seed, now=NOW, start=start, end=dt.date(2026, 6, 30), messy_fraction=0.03)
    run_dbt(["run", *SELECT, "--vars", VARS], capture=True)
    return info


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_runs_equal_a_full_refresh(make_database, seed):
    info = built_warehouse(make_database, orders=1200, seed=seed, start=dt.date(2026, 2, 1))
    for batch in range(2):
        apply_late_changes(info.conninfo, seed / 10 + batch / 100)
        run_dbt(["run", *SELECT, "--vars", VARS], capture=True)
    incremental = snapshot(info.conninfo)
    run_dbt(["run", *SELECT, "--vars", VARS, "--full-refresh"], capture=True)
    full = snapshot(info.conninfo)
    for table in COMPARED:
        assert incremental[table] == full[table], f"{table}: {describe_difference(incremental[table], full[table])}"
    assert len(full["analytics.fct_orders"]) > 1200  # the new orders arrived


def test_a_partition_window_rebuilds_its_dates_idempotently_and_loses_no_change(make_database):
    """What a Dagster partition backfill runs: vars partition_start / partition_end
    rebuild exactly those dates; changes outside the window stay pending and the
    next change-driven run applies them."""
    info = make_database()
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        generate(conn, orders=1200, seed=4, now=NOW, start=dt.date(2026, 2, 1), end=dt.date(2026, 6, 30))
    run_dbt(["run", *SELECT, "--vars", VARS], capture=True)
    apply_late_changes(info.conninfo, 0.4)
    # As a backfill after the unpartitioned step: upstream models first, then one week of the daily marts.
    run_dbt(["run", *SELECT, "--exclude", "tag:daily_partitioned", "--vars", VARS], capture=True)
    window = "{as_of_date: '2026-06-30', partition_start: '2026-03-01', partition_end: '2026-03-08'}"
    run_dbt(["run", "--select", "tag:daily_partitioned", "--vars", window], capture=True)
    after_window = snapshot(info.conninfo)
    run_dbt(["run", "--select", "tag:daily_partitioned", "--vars", window], capture=True)
    assert snapshot(info.conninfo) == after_window  # idempotent
    run_dbt(["run", *SELECT, "--vars", VARS], capture=True)  # the nightly, change-driven run
    caught_up = snapshot(info.conninfo)
    run_dbt(["run", *SELECT, "--vars", VARS, "--full-refresh"], capture=True)
    full = snapshot(info.conninfo)
    assert caught_up == full

    def in_window(rows):
        return [row for (row,) in rows if "2026-03-01" <= row["date"] < "2026-03-08"]

    for mart in ("analytics.daily_revenue_summaries", "analytics.partner_performance_metrics"):
        assert in_window(after_window[mart]) == in_window(full[mart]) != []
        # Late changes on other dates were left for the next change-driven run.
        assert after_window[mart] != full[mart]


# What the intraday refresh runs (dagster_project.jobs.INTRADAY_SELECTION): the models
# above without the staging views, which read ops live.
INTRADAY = [*SELECT, "--exclude", "path:models/staging"]


def full_refresh_of_a_copy(server, info, dbt_vars: str = VARS) -> dict[str, list]:
    """The marts a full refresh builds from the same sources, in a copy of the
    database, so the incremental state under test is left as it is."""
    copy = f"{info.dbname}_full"
    with psycopg.connect(server.with_database("postgres").conninfo, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (info.dbname,))
        admin.execute(f'drop database if exists "{copy}"')
        admin.execute(f'create database "{copy}" template "{info.dbname}"')
    copied = server.with_database(copy)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            for key, value in database.environment_for(copied).items():
                monkeypatch.setenv(key, value)
            run_dbt(["run", *SELECT, "--vars", dbt_vars, "--full-refresh"], capture=True)
        return snapshot(copied.conninfo)
    finally:
        with psycopg.connect(server.with_database("postgres").conninfo, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{copy}" with (force)')


@pytest.mark.parametrize("seed", [5, 6])
def test_intraday_batches_interleaved_with_late_changes_equal_a_full_refresh_after_each(server, make_database, seed):
    """Many small intraday runs, each after new orders and late changes to old ones
    (captures, refunds, cancellations, partner hand-overs, reviews, issues, new
    customers): after every run, every column of every mart equals a full refresh."""
    info = built_warehouse(make_database, orders=600, seed=seed, start=dt.date(2026, 4, 1))
    # The last batch is an old order loaded late, alone: its customers' former first
    # order dates turn from new to returning though no order of those dates changed.
    batches = [LATE_CHANGES, LATE_CHANGES, LATE_CHANGES, [BACKFILLED_ORDERS]]
    for batch, statements in enumerate(batches):
        apply_late_changes(info.conninfo, seed / 10 + batch / 100, statements)
        run_dbt(["run", *INTRADAY, "--vars", VARS], capture=True)
        intraday, full = snapshot(info.conninfo), full_refresh_of_a_copy(server, info)
        for table in COMPARED:
            assert intraday[table] == full[table], (
                f"batch {batch}, {table}: {describe_difference(intraday[table], full[table])}"
            )


def test_a_new_day_rewrites_no_customer_and_moves_every_recency(server, make_database):
    """customer_analytics is a view: its recency columns move with the as-of date
    when it is read, and the summary under it is rewritten only for the customers
    whose orders changed (or were re-read within the late-arrival margin), on the
    same day or a new one. Either way it equals a full refresh."""
    info = built_warehouse(make_database, orders=600, seed=7, start=dt.date(2026, 4, 1))

    def rows_written_by_the_last_run(conn) -> tuple[int, int]:
        return conn.execute(
            "select count(*) filter (where refreshed_at = (select max(refreshed_at) from analytics.customer_analytics)),"
            " count(*) from analytics.customer_analytics"
        ).fetchone()

    apply_late_changes(info.conninfo, 0.7)
    run_dbt(["run", *INTRADAY, "--vars", VARS], capture=True)  # same as-of date: the touched customers
    with psycopg.connect(info.conninfo) as conn:
        touched, everyone = rows_written_by_the_last_run(conn)
        before = dict(conn.execute("select user_id, refreshed_at from analytics.customer_analytics").fetchall())
    assert 0 < touched < everyone / 2
    next_day = "{as_of_date: '2026-07-01'}"
    run_dbt(["run", *INTRADAY, "--vars", next_day], capture=True)  # a new as-of date, no order changed
    with psycopg.connect(info.conninfo) as conn:
        after = dict(conn.execute("select user_id, refreshed_at from analytics.customer_analytics").fetchall())
        # Only the customers of orders re-read since the last read point, not everyone.
        assert len([user for user in after if after[user] != before[user]]) < len(after) / 2
        assert conn.execute("select distinct as_of_date::text from analytics.customer_analytics").fetchall() == [
            ("2026-07-01",)
        ]
    assert snapshot(info.conninfo) == full_refresh_of_a_copy(server, info, next_day)


PLACE_ORDER = """
insert into ops.orders (id, order_number, customer_id, partner_id, status, total_amount, created_at, updated_at)
select gen_random_uuid(), %(number)s, (select id from ops.users order by id limit 1),
       (select id from ops.partners order by id limit 1), 'pending', 20.00, {clock}, {clock}
"""


def test_an_order_committed_after_a_run_that_could_not_see_it_is_caught_by_the_next(make_database):
    """A transaction still open while a run reads ops (its order stamped with the
    transaction's start) commits after a later order was read: the next run, which
    starts from the read point the first recorded (the open transaction's start),
    still picks it up, with no clock-skew margin to hide a wrong read point."""
    now = dt.datetime.now(dt.timezone.utc)
    info = make_database()
    with psycopg.connect(info.conninfo, autocommit=True) as conn:
        ops_schema.create_ops_schema(conn, "ops")
        generate(conn, orders=300, seed=5, now=now, start=now.date() - dt.timedelta(days=20), end=now.date())
    no_margin = ["--vars", "{clock_skew_minutes: 0}"]
    run_dbt(["run", "--select", "+fct_orders", *no_margin], capture=True)

    def in_fct_orders(conn, number: str) -> bool:
        return bool(conn.execute("select 1 from analytics.fct_orders where order_number = %s", (number,)).fetchone())

    with psycopg.connect(info.conninfo) as slow, psycopg.connect(info.conninfo, autocommit=True) as conn:
        slow.execute(PLACE_ORDER.format(clock="now()"), {"number": "LC-SLOW"})  # stays uncommitted
        conn.execute("select pg_sleep(0.2)")
        conn.execute(PLACE_ORDER.format(clock="clock_timestamp()"), {"number": "LC-QUICK"})
        run_dbt(["run", "--select", "fct_orders", *no_margin], capture=True)
        assert in_fct_orders(conn, "LC-QUICK") and not in_fct_orders(conn, "LC-SLOW")
        slow.commit()
        run_dbt(["run", "--select", "fct_orders", *no_margin], capture=True)
        assert in_fct_orders(conn, "LC-SLOW")
