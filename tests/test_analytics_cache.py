"""On generated data: the query API's payloads reconcile with the marts, the cache
holds exactly those payloads and tells fresh from stale, and the CLI refuses bad
input with exit code 2."""

import datetime as dt
import json
import re
import subprocess
import sys
from decimal import Decimal

import psycopg
import pytest

from laundry_analytics import analytics, cache, database
from laundry_analytics.dbt_runner import run_dbt
from laundry_analytics.generate import generate

AS_OF = dt.date(2026, 6, 30)
START, END = AS_OF - dt.timedelta(days=29), AS_OF


@pytest.fixture(scope="module")
def conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        generate(
            connection,
            orders=3000,
            seed=11,
            end=AS_OF,
            messy_fraction=0.03,
            now=dt.datetime(2026, 6, 30, 20, 0, tzinfo=dt.timezone.utc),
        )
        # Orders not yet assigned to a partner (the reconciliation below needs some in
        # the range, whatever the generator's draw): three recent orders back to pending.
        connection.execute(
            """
            update ops.orders set partner_id = null, status = 'pending', accepted_at = null, picked_up_at = null,
                                  ready_at = null, delivered_at = null
            where id in (select id from ops.orders where status = 'processing' and created_at >= %s
                         order by id limit 3)""",
            (START,),
        )
        run_dbt(["run", "--vars", f"{{as_of_date: '{AS_OF}'}}"], capture=True)
        yield connection


def mart_sum(conn, query: str, *params):
    return conn.execute(query, params).fetchone()


def test_revenue_and_orders_totals_equal_the_daily_mart(conn):
    revenue = analytics.revenue(START, END, conn=conn)["totals"]
    orders = analytics.orders(START, END, conn=conn)
    daily = mart_sum(
        conn,
        """
        select sum(total_revenue), sum(refund_amount), sum(total_orders), sum(paid_orders),
               sum(completed_orders), sum(cancelled_orders), sum(pending_orders)
        from analytics.daily_revenue_summaries where date between %s and %s""",
        START,
        END,
    )
    assert daily[0] > 0
    assert (
        revenue["total_revenue"],
        revenue["refund_amount"],
        revenue["total_orders"],
        revenue["paid_orders"],
    ) == daily[:4]
    assert tuple(orders["totals"].values()) == (daily[2], *daily[4:])
    assert sum(h["orders"] for h in orders["by_hour"]) == daily[2]
    assert sum(d["orders"] for d in orders["by_day_of_week"]) == daily[2]
    assert sum(s["orders"] for s in orders["by_status"]) == daily[2]


def test_partner_totals_equal_the_partner_mart(conn):
    payload = analytics.partners(START, END, conn=conn)["totals"]
    mart = mart_sum(
        conn,
        """
        select count(distinct partner_id), sum(orders_received), sum(revenue)
        from analytics.partner_performance_metrics where date between %s and %s""",
        START,
        END,
    )
    assert tuple(payload.values()) == mart


def test_one_partners_revenue_equals_its_rows_in_the_partner_mart(conn):
    partner_id, revenue, orders = mart_sum(
        conn,
        """
        select partner_id, sum(revenue), sum(orders_received) from analytics.partner_performance_metrics
        where date between %s and %s group by partner_id order by sum(revenue) desc limit 1""",
        START,
        END,
    )
    payload = analytics.revenue(START, END, partner_id=partner_id, conn=conn)["totals"]
    assert (payload["total_revenue"], payload["total_orders"]) == (revenue, orders)


def test_partner_payloads_from_the_facts_add_up_to_the_all_partner_payload_from_the_aggregates(conn):
    # All partners: the daily aggregates. One partner: its rows of fct_orders and
    # fct_order_items. Every partner's figures plus those of the orders without a
    # partner must give the all-partner figures exactly.
    partner_ids = [row[0] for row in conn.execute("select partner_id from analytics.dim_partners")]
    everyone_orders = analytics.orders(START, END, conn=conn)
    everyone_revenue = analytics.revenue(START, END, conn=conn)
    no_partner = conn.execute(
        """
        select count(*), coalesce(sum(captured_amount), 0) from analytics.fct_orders
        where partner_id is null and order_date between %s and %s""",
        (START, END),
    ).fetchone()
    no_partner_items = dict(
        conn.execute(
            """
        select service_category_name, sum(line_total) from analytics.fct_order_items
        where partner_id is null and order_date between %s and %s group by 1""",
            (START, END),
        ).fetchall()
    )
    by_status, by_hour, categories = {}, {}, {}
    revenue, paid = no_partner[1], 0
    for partner_id in partner_ids:
        one = analytics.orders(START, END, partner_id=partner_id, conn=conn)
        for row in one["by_status"]:
            by_status[row["status"]] = by_status.get(row["status"], 0) + row["orders"]
        for row in one["by_hour"]:
            by_hour[row["hour"]] = by_hour.get(row["hour"], 0) + row["orders"]
        for row in one["by_service_category"]:
            categories[row["category"]] = categories.get(row["category"], 0) + row["quantity"]
        totals = analytics.revenue(START, END, partner_id=partner_id, conn=conn)["totals"]
        revenue += totals["total_revenue"]
        paid += totals["paid_orders"]
    assert no_partner[0] > 0 and by_status["completed"] > 0
    for status, count in conn.execute(
        """
            select status, count(*) from analytics.fct_orders
            where partner_id is null and order_date between %s and %s group by 1""",
        (START, END),
    ):
        by_status[status] = by_status.get(status, 0) + count
    assert by_status == {row["status"]: row["orders"] for row in everyone_orders["by_status"]}
    assert sum(by_hour.values()) + no_partner[0] == everyone_orders["totals"]["total_orders"]
    assert revenue == everyone_revenue["totals"]["total_revenue"]
    assert paid <= everyone_revenue["totals"]["paid_orders"]
    assert set(categories) | set(no_partner_items) == {
        row["category"] for row in everyone_orders["by_service_category"]
    }
    # The partners payload's average durations cover exactly the orders with a partner.
    durations = conn.execute(
        """
        select round(avg(acceptance_minutes), 2), round(avg(total_minutes), 2) from analytics.fct_orders
        where partner_id is not null and order_date between %s and %s""",
        (START, END),
    ).fetchone()
    average = analytics.partners(START, END, conn=conn)["average_minutes"]
    assert (average["acceptance"], average["total"]) == durations


def test_customer_segments_sum_to_the_customer_count(conn):
    payload = analytics.customers(START, END, conn=conn)
    customers, lifetime_value, new = mart_sum(
        conn,
        """
        select count(*), sum(lifetime_value), count(*) filter (where first_order_date >= %s)
        from analytics.customer_analytics where first_order_date <= %s""",
        START,
        END,
    )
    assert payload["totals"]["total_customers"] == customers == sum(payload["segments"].values())
    assert payload["totals"]["total_lifetime_value"] == lifetime_value
    assert payload["totals"]["new_customers"] == new == sum(d["new_customers"] for d in payload["acquisition_trend"])
    new_in_daily_mart = mart_sum(
        conn,
        "select sum(new_customers) from analytics.daily_revenue_summaries where date between %s and %s",
        START,
        END,
    )[0]
    assert new == new_in_daily_mart


def test_top_customers_show_no_raw_pii(conn):
    top = analytics.customers(START, END, conn=conn)["top_customers"]
    raw = {value for row in conn.execute("select email, full_name, phone from ops.users") for value in row if value}
    assert len(top) == analytics.TOP_N
    for customer in top:
        assert customer["customer"] not in raw and customer["email"] not in raw
        assert customer["email"] is None or re.fullmatch(r"\S\*\*\*@\S+|\*\*\*", customer["email"])
        assert customer["customer"] is None or re.fullmatch(r"(\S\*\*\*)( \S\*\*\*)*", customer["customer"])


def test_dashboard_today_equals_the_daily_mart(conn):
    payload = analytics.dashboard(START, END, conn=conn)
    revenue, orders = mart_sum(
        conn, "select total_revenue, total_orders from analytics.daily_revenue_summaries where date = %s", END
    )
    assert (payload["today"]["revenue"], payload["today"]["orders"]) == (revenue, orders)
    assert (
        sum(payload["customer_segments"].values())
        == analytics.customers(START, END, conn=conn)["totals"]["total_customers"]
    )


# --- the cache ----------------------------------------------------------------------


@pytest.mark.parametrize("cache_type", cache.cache_types())
def test_a_refreshed_cache_holds_the_api_payload_and_is_fresh(conn, cache_type):
    entry = cache.refresh(cache_type, as_of=AS_OF, conn=conn)
    assert entry.is_fresh and entry.expires_at - entry.created_at == cache.ttl(cache_type)
    direct = analytics.to_jsonable(analytics.payload(cache_type, end=AS_OF, conn=conn))
    assert cache.get(cache_type, conn=conn).data == direct
    assert direct["period"] == {
        "start": str(START),
        "end": str(END),
        "days": 30,
        "partner_id": None,
        "service_category": None,
        "city": None,
    }


def test_refreshing_again_replaces_the_row_and_readers_see_no_gap(conn):
    cache.refresh("revenue", as_of=AS_OF, conn=conn)
    with psycopg.connect(conn.info.dsn) as reader:
        reader.execute("begin isolation level repeatable read")
        before = reader.execute(
            "select created_at from analytics.analytics_cache where cache_type = 'revenue'"
        ).fetchall()
        cache.refresh("revenue", as_of=AS_OF, conn=conn)
        # A reader's snapshot still holds exactly one (the old) row; afterwards, one new row.
        assert (
            reader.execute("select created_at from analytics.analytics_cache where cache_type = 'revenue'").fetchall()
            == before
        )
    rows = conn.execute("select created_at from analytics.analytics_cache where cache_type = 'revenue'").fetchall()
    assert len(rows) == 1 and rows != before


def test_an_expired_entry_is_reported_stale_and_cleaned_up(conn):
    cache.refresh("dashboard", as_of=AS_OF, conn=conn)
    conn.execute(
        "update analytics.analytics_cache set created_at = now() - interval '10 minutes', "
        "expires_at = now() - interval '5 minutes' where cache_type = 'dashboard'"
    )
    assert cache.get("dashboard", conn=conn).is_fresh is False
    assert cache.cleanup(conn=conn) == 1
    assert cache.get("dashboard", conn=conn) is None


def test_the_analyst_role_can_read_the_cache(conn, monkeypatch):
    cache.refresh("orders", as_of=AS_OF, conn=conn)
    monkeypatch.setenv("LAUNDRY_ANALYST_PASSWORD", "reads-the-cache")  # the role logs in with a password only
    database.ensure_database()
    dsn = psycopg.conninfo.make_conninfo(conn.info.dsn, user="analyst", password="reads-the-cache")
    with psycopg.connect(dsn) as analyst:
        assert analyst.execute(
            "select count(*) from analytics.analytics_cache where cache_type = 'orders'"
        ).fetchone() == (1,)


# --- the CLI ------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "laundry_cli", *args], capture_output=True, text=True)


def test_cli_query_prints_the_payload_as_json(conn):
    done = cli("query", "revenue", "--start", str(START), "--end", str(END))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    direct = analytics.to_jsonable(analytics.revenue(START, END, conn=conn))
    assert printed == direct and Decimal(str(printed["totals"]["total_revenue"])) > 0


def test_cli_query_with_a_service_category_is_the_api_payload(conn):
    done = cli("query", "orders", "--start", str(START), "--end", str(END), "--service-category", "Ironing")
    assert done.returncode == 0, done.stderr
    direct = analytics.to_jsonable(analytics.orders(START, END, service_category="Ironing", conn=conn))
    assert json.loads(done.stdout) == direct and direct["by_service_category"][0]["category"] == "Ironing"


def test_cli_query_as_a_table(conn):
    done = cli("query", "orders", "--start", str(START), "--end", str(END), "--format", "table")
    assert done.returncode == 0, done.stderr
    assert "by_hour" in done.stdout and "completion_rate" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "revenue", "--start", "2026-06-30", "--end", "2026-06-01"], "is before start"),
        (["query", "revenue", "--start", "30/06/2026"], "not a date"),
        (["query", "revenue", "--partner", "00000000-0000-4000-8000-000000000999"], "no partner"),
        (["query", "revenue", "--start", "2020-01-01", "--end", "2026-06-30"], "at most"),
        (["query", "sales"], "invalid choice"),
        (["query", "partners", "--city", "Atlantis"], "city 'Atlantis' matches no partner's city"),
        (["query", "revenue", "--city", "Lisbon"], "the revenue payload cannot be filtered by city"),
        (["cache", "get", "sales"], "invalid choice"),
    ],
)
def test_cli_refuses_bad_input_with_exit_code_2(conn, args, message):
    done = cli(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_cli_cache_refresh_then_get_says_fresh_or_stale(conn):
    assert cli("cache", "refresh", "customers", "--as-of", str(AS_OF)).returncode == 0
    done = cli("cache", "get", "customers")
    assert done.returncode == 0 and json.loads(done.stdout)["is_fresh"] is True
    conn.execute(
        "update analytics.analytics_cache set created_at = now() - interval '1 hour', "
        "expires_at = now() - interval '1 minute' where cache_type = 'customers'"
    )
    done = cli("cache", "get", "customers")
    assert json.loads(done.stdout)["is_fresh"] is False and "stale" in done.stderr
