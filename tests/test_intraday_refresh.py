"""The intraday refresh: an order placed now shows in the dashboard's "today" after
one run of intraday_refresh_job, every payload says how fresh it is (data_as_of),
and a payload whose data lags more than LAUNDRY_MAX_DATA_LAG_MINUTES is stale
even before its cache row expires.

One warehouse for the module: generated orders up to now, the nightly job
(all_assets_job) once, then three paid orders placed and one intraday run.
"""

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

import psycopg
import pytest
from dagster import DagsterEventType, DagsterInstance
from psycopg.rows import dict_row

from dagster_project.definitions import build_definitions
from dagster_project.partitions import catch_up_run, daily_partitions
from laundry_analytics import analytics, cache, freshness
from laundry_analytics.analytics import aggregates, registry
from laundry_analytics.analytics.arithmetic import mean
from laundry_analytics.generate import generate

PLACED = 3
PRICE = Decimal("20.00")

PLACE_ORDERS = """
with new_orders as (
    insert into ops.orders (id, order_number, customer_id, partner_id, status, total_amount, created_at, updated_at)
    select gen_random_uuid(), 'LC-NOW-' || g, (select id from ops.users order by id limit 1 offset g),
           (select id from ops.partners order by id limit 1), 'pending', %(price)s, now(), now()
    from generate_series(1, %(n)s) as g
    returning id
)
insert into ops.payments
select gen_random_uuid(), id, %(price)s, 'card', 'completed', now(), now(), now() from new_orders
returning now()
"""


def today_figures(conn) -> dict:
    return analytics.dashboard(conn=conn)["today"]


@pytest.fixture(scope="module")
def refreshed(module_warehouse):
    """(warehouse, today's figures before, the orders' commit time, intraday run result)."""
    now = dt.datetime.now(dt.timezone.utc)
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        generate(conn, orders=400, seed=11, now=now, start=now.date() - dt.timedelta(days=60), end=now.date())
    definitions = build_definitions()
    with DagsterInstance.ephemeral() as instance:
        nightly = definitions.resolve_job_def("all_assets_job").execute_in_process(
            instance=instance, **catch_up_run(daily_partitions())
        )
        assert nightly.success
        with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
            before = today_figures(conn)
            committed_at = conn.execute(PLACE_ORDERS, {"n": PLACED, "price": PRICE}).fetchone()[0]
        intraday = definitions.resolve_job_def("intraday_refresh_job").execute_in_process(
            instance=instance, **catch_up_run(daily_partitions())
        )
        events = intraday.all_events
        dbt_commands = [
            entry.user_message
            for entry in instance.all_logs(intraday.run_id)
            if entry.user_message.startswith("dbt invocation:")
        ]
    assert intraday.success
    return module_warehouse, before, committed_at, events, dbt_commands


@pytest.fixture
def conn(refreshed):
    with psycopg.connect(refreshed[0].conninfo, autocommit=True) as connection:
        yield connection


def test_an_order_placed_now_is_in_the_cached_dashboard_after_one_intraday_run(refreshed, conn):
    _, before, committed_at, *_ = refreshed
    entry = cache.get("dashboard", conn=conn)
    today = entry.data["today"]
    assert today["orders"] == before["orders"] + PLACED
    assert Decimal(str(today["revenue"])) == Decimal(str(before["revenue"])) + PLACED * PRICE
    # data_as_of says the payload includes everything committed before the run started.
    assert entry.data_as_of >= committed_at and entry.is_fresh
    assert entry.lag < dt.timedelta(minutes=10)


def test_the_intraday_run_builds_models_without_the_dbt_tests(refreshed):
    events = refreshed[3]
    checks = [
        e.asset_check_evaluation_data.check_name
        for e in events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    # Only the freshness checks of what it built; the dbt tests are the nightly run's.
    assert checks and set(checks) <= {"data_within_lag", "payload_is_fresh"}
    materialized = {
        e.asset_key.to_user_string() for e in events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }
    assert {"analytics/fct_orders", "analytics/daily_revenue_summaries", "analytics_cache/dashboard"} <= materialized, (
        materialized
    )
    assert not any(key.startswith(("staging/", "ops/")) for key in materialized)
    assert "analytics/data_quality_issues" not in materialized


def test_the_intraday_run_invokes_dbt_once(refreshed):
    # The models' step runs the daily marts too (dbt orders them); their step records.
    (command,) = refreshed[4]
    assert " run " in command and "tag:daily_partitioned" in command and "fct_orders" in command, command


def test_the_daily_marts_record_only_the_partitions_the_intraday_run_rebuilt(refreshed, conn):
    # The run rewrites the dates of the orders it recomputed (the new ones, and those
    # changed since the read point the last run recorded) and the dates whose
    # new / returning customers moved; Dagster records exactly those partitions, not
    # one partition of the rest of history.
    written = {
        date.isoformat()
        for (date,) in conn.execute(
            "select date from analytics.daily_revenue_summaries"
            " where refreshed_at = (select max(refreshed_at) from analytics.daily_revenue_summaries)"
        )
    }
    recomputed = {
        date.isoformat()
        for (date,) in conn.execute(
            "select distinct order_date from analytics.fct_orders"
            " where refreshed_at = (select max(refreshed_at) from analytics.fct_orders)"
        )
    }
    partitions = {
        e.partition
        for e in refreshed[3]
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
        and e.asset_key.to_user_string() == "analytics/daily_revenue_summaries"
    }
    assert dt.datetime.now(dt.timezone.utc).date().isoformat() in partitions  # business time zone UTC here
    assert recomputed <= partitions == written and len(partitions) < 10


def test_the_tables_read_index_only_are_all_visible_after_the_run(refreshed, conn):
    # The run ends with one VACUUM of the tables the query API reads with index-only
    # scans (dbt's on-run-end, once no model is still in its transaction), so those
    # scans read no row from the heap. Each model's post-hook VACUUM, run while the
    # other dbt thread was still building, left pages it could not mark.
    tables = ("analytics.partner_performance_metrics", "analytics.agg_partner_periods",
              "intermediate.int_customer_order_summary")  # fmt: skip
    pages = {
        table: conn.execute(
            "select relpages, relallvisible from pg_class where oid = %s::regclass", (table,)
        ).fetchone()
        for table in tables
    }
    assert all(visible == total > 0 for total, visible in pages.values()), pages
    conn.execute("set enable_seqscan = off; set enable_bitmapscan = off")  # a small table: force the index
    plan = conn.execute(
        "explain (analyze, costs off, timing off, summary off) select count(*), sum(revenue)"
        " from analytics.partner_performance_metrics where date >= current_date - 30"
    ).fetchall()
    assert "Index Only Scan" in str(plan) and "Heap Fetches: 0" in str(plan), plan


@pytest.mark.parametrize("payload_type", registry.payload_types())
def test_every_payload_says_how_fresh_its_marts_are(conn, payload_type):
    payload = analytics.payload(payload_type, conn=conn)
    # A table's own record; a view's, the records of the tables it reads.
    recorded = conn.execute(
        """select min(t.data_as_of) from analytics.mart_refreshes as m
           join analytics.mart_refreshes as t
             on (cardinality(m.reads) = 0 and t.model = m.model) or t.model = any(m.reads)
           where m.model = any(%s)""",
        (list(registry.get(payload_type).marts),),
    ).fetchone()[0]
    assert payload["data_as_of"] == recorded is not None
    assert list(payload)[:3] == ["type", "period", "data_as_of"]


def test_a_mart_that_reads_other_marts_is_as_fresh_as_the_stalest(conn):
    rows = dict(conn.execute("select model, data_as_of from analytics.mart_refreshes").fetchall())
    assert rows["customer_analytics"] is None and rows["dim_customers"] is None  # views: see their reads
    assert rows["daily_revenue_summaries"] <= rows["fct_orders"]
    assert rows["agg_customers_daily"] <= rows["int_customer_order_summary"] <= rows["fct_orders"]


def test_a_view_is_as_fresh_as_the_tables_it_reads(conn):
    reads = dict(conn.execute("select model, reads from analytics.mart_refreshes").fetchall())
    assert reads["customer_analytics"] == ["int_customer_order_summary"]
    assert reads["dim_customers"] == []  # reads ops live
    summary = conn.execute(
        "select data_as_of from analytics.mart_refreshes where model = 'int_customer_order_summary'"
    ).fetchone()[0]
    assert freshness.data_as_of(["customer_analytics"], conn) == summary
    assert freshness.data_as_of(["customer_analytics", "dim_customers"], conn) == summary
    live = freshness.data_as_of(["dim_customers"], conn)
    assert dt.timedelta(0) <= dt.datetime.now(dt.timezone.utc) - live < dt.timedelta(minutes=1)


def test_a_payload_whose_data_lags_too_much_is_stale_before_it_expires(conn, monkeypatch):
    monkeypatch.setenv("LAUNDRY_MAX_DATA_LAG_MINUTES", "30")
    original = conn.execute("select data_as_of from analytics.mart_refreshes where model = 'fct_orders'").fetchone()[0]
    try:
        conn.execute("update analytics.mart_refreshes set data_as_of = now() - interval '2 hours'")
        entry = cache.refresh("revenue", conn=conn)
        assert entry.is_unexpired and not entry.is_fresh
        assert "more than LAUNDRY_MAX_DATA_LAG_MINUTES=30" in entry.stale_reason
        assert dt.timedelta(hours=2) <= entry.lag < dt.timedelta(hours=2, minutes=10)
        done = subprocess.run(
            [sys.executable, "-m", "laundry_cli", "cache", "get", "revenue"], capture_output=True, text=True
        )
        printed = json.loads(done.stdout)
        assert done.returncode == 0 and printed["is_fresh"] is False and printed["lag_seconds"] >= 7200
        assert "(lag 2 h 00 min)" in done.stderr and "warning: stale" in done.stderr
    finally:
        conn.execute("update analytics.mart_refreshes set data_as_of = %s", (original,))
        cache.refresh("revenue", conn=conn)


def test_freshness_is_unknown_for_a_mart_without_a_record(conn):
    assert freshness.data_as_of(["fct_orders", "no_such_mart"], conn) is None


@pytest.mark.parametrize("days", [1, 6, 7, 13, 30, 61])
def test_partner_totals_over_any_range_are_those_of_the_orders(conn, days):
    # Added up from whole weeks and edge days of agg_partner_periods, kept by deltas
    # through the intraday run; the average rating is that of every review in range.
    end = dt.datetime.now(dt.timezone.utc).date()
    for shift in range(0, 7, 3):
        stop = end - dt.timedelta(days=shift)
        window = analytics.make_window(stop - dt.timedelta(days=days - 1), stop, conn=conn)
        expected = {
            str(row[0]): row[1:]
            for row in conn.execute(
                """
                select partner_id, count(*)::int, (count(*) filter (where is_accepted))::int,
                       (count(*) filter (where status = 'completed'))::int, sum(captured_amount),
                       round(avg(rating), 2)
                from analytics.fct_orders
                where partner_id is not null and order_date between %s and %s
                group by partner_id""",
                (window.start, window.end),
            )
        }
        with psycopg.connect(conn.info.dsn, autocommit=True, row_factory=dict_row) as c:
            got = {
                row["partner_id"]: (
                    row["orders_received"],
                    row["orders_accepted"],
                    row["orders_completed"],
                    row["revenue"],
                    row["average_rating"],
                )
                for row in analytics.partner_totals(c, window)
            }
        assert got == expected
        assert expected or days < 6


@pytest.mark.parametrize("min_orders", [0, 3])
def test_the_partner_ranking_is_that_of_every_partners_totals(conn, min_orders):
    # Ranked and averaged in the database; the same as sorting and averaging every
    # partner's totals with the payload arithmetic.
    end = dt.datetime.now(dt.timezone.utc).date()
    window = analytics.make_window(end - dt.timedelta(days=20), end, conn=conn)
    with psycopg.connect(conn.info.dsn, autocommit=True, row_factory=dict_row) as c:
        every = analytics.partner_totals(c, window)
        ranking = aggregates.partner_ranking(c, window, top=3, min_orders=min_orders)
    rankable = [p for p in every if p["orders_received"] >= min_orders]
    assert ranking.partners_with_orders == len(every) > 3
    assert ranking.orders_received == sum(p["orders_received"] for p in every)
    assert ranking.revenue == sum(p["revenue"] for p in every)
    assert ranking.average_acceptance_rate == mean(p["acceptance_rate"] for p in every)
    assert ranking.average_completion_rate == mean(p["completion_rate"] for p in every)
    assert ranking.by_revenue == sorted(every, key=lambda p: (-p["revenue"], p["partner_id"]))[:3]
    top = sorted(rankable, key=lambda p: (-(p["completion_rate"] or 0), -p["revenue"], p["partner_id"]))[:3]
    low = sorted(rankable, key=lambda p: (p["completion_rate"] or 0, p["revenue"], p["partner_id"]))[:3]
    assert ranking.top_performers == top and ranking.low_performers == low


@pytest.mark.parametrize("days", [1, 20, 61])
def test_one_partners_figures_are_those_of_its_orders_items_and_customers(conn, days):
    # A partner's payloads read its rows of the facts grouped per order date (items)
    # or per (status, hour, day of week) (orders) and its customers in one pass; each
    # figure equals the direct query over the whole range.
    partner_id, end = conn.execute(
        "select partner_id, max(order_date) from analytics.fct_orders where partner_id is not null "
        "group by partner_id order by count(*) desc, partner_id limit 1"
    ).fetchone()
    start = end - dt.timedelta(days=days - 1)
    scope = {"partner": partner_id, "start": start, "end": end}
    in_range = "partner_id = %(partner)s and order_date between %(start)s and %(end)s"

    def one(query: str):
        return conn.execute(query, scope).fetchone()

    def pairs(query: str) -> dict:
        return {row[0]: row[1:] for row in conn.execute(query, scope)}

    orders = analytics.payload("orders", start, end, partner_id, conn=conn)
    assert tuple(orders["totals"].values()) == one(
        f"""select count(*)::int, (count(*) filter (where is_completed))::int,
                   (count(*) filter (where is_cancelled))::int, (count(*) filter (where is_open))::int
            from analytics.fct_orders where {in_range}"""
    )
    durations = ", ".join(f"round(avg({name}_minutes), 2)" for name in orders["average_minutes"])
    assert tuple(orders["average_minutes"].values()) == one(
        f"select {durations} from analytics.fct_orders where {in_range}"
    )
    for key, column in (("by_status", "status"), ("by_hour", "order_hour"), ("by_day_of_week", "order_day_of_week")):
        counted = pairs(f"select {column}, count(*)::int from analytics.fct_orders where {in_range} group by 1")
        listed = {row[next(iter(row))]: row["orders"] for row in orders[key]}
        assert {k: v for k, v in listed.items() if v} == {k: v[0] for k, v in counted.items()}
    items = f"""select service_category_name, sum(line_total), sum(quantity)::int, count(distinct order_id)::int
                from analytics.fct_order_items where {in_range} {{paid}} group by 1"""
    assert {r["category"]: (r["quantity"], r["orders"]) for r in orders["by_service_category"]} == {
        category: sums[1:] for category, sums in pairs(items.format(paid="")).items()
    }
    revenue = analytics.payload("revenue", start, end, partner_id, conn=conn)
    assert {r["category"]: (r["item_sales"], r["quantity"], r["orders"]) for r in revenue["by_service_category"]} == (
        pairs(items.format(paid="and is_paid"))
    )

    customers = analytics.payload("customers", start, end, partner_id, conn=conn)
    population = """from analytics.customer_analytics as c where c.first_order_date <= %(end)s and exists (
        select 1 from analytics.fct_orders as f
        where f.customer_id = c.user_id and f.partner_id = %(partner)s and f.order_date <= %(end)s)"""
    totals = customers["totals"]
    assert (
        totals["total_customers"],
        totals["new_customers"],
        totals["at_risk_customers"],
        totals["total_lifetime_value"],
        totals["average_lifetime_value"],
    ) == one(
        f"""select count(*)::int, (count(*) filter (where first_order_date >= %(start)s))::int,
                   (count(*) filter (where is_at_churn_risk))::int, coalesce(sum(lifetime_value), 0),
                   round(avg(lifetime_value), 2) {population}"""
    )
    assert totals["total_customers"] > 0
    segments = pairs(f"select customer_segment, count(*)::int {population} group by 1")
    assert {s: n for s, n in customers["segments"].items() if n} == {s: n[0] for s, n in segments.items()}
    acquired = pairs(
        f"select first_order_date, count(*)::int {population} and first_order_date >= %(start)s group by 1"
    )
    trend = {row["date"]: row["new_customers"] for row in customers["acquisition_trend"] if row["new_customers"]}
    assert trend == {day: n[0] for day, n in acquired.items()}
    top = conn.execute(
        f"select lifetime_value, total_orders, customer_segment {population} order by lifetime_value desc, user_id limit 10",
        scope,
    ).fetchall()
    assert [(r["lifetime_value"], r["total_orders"], r["segment"]) for r in customers["top_customers"]] == top
    dashboard = analytics.payload("dashboard", start, end, partner_id, conn=conn)
    assert dashboard["customer_segments"] == customers["segments"]
