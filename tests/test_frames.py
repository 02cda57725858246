"""Notebooks: a SQLAlchemy engine and pandas DataFrames of the payloads and marts,
on the hand-built dataset of test_analytics_api (its docstring works out the
numbers: O1 paid 30.00 on 2026-07-09 with a 5.00 refund, O3 paid 20.00 on
2026-07-10, O2 cancelled, O4 pending)."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pandas as pd
import psycopg
import pytest
import sqlalchemy

from laundry_analytics import frames
from laundry_analytics.analytics import registry
from laundry_analytics.analytics.payloads.revenue import PAYLOAD_TYPE as REVENUE_TYPE
from laundry_analytics.dbt_runner import run_dbt

from test_analytics_api import END, ROWS, SPARKLE, START

D = Decimal


@pytest.fixture(scope="module")
def conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        connection.execute(ROWS)
        run_dbt(["run", "--vars", "{as_of_date: '2026-07-10', business_timezone: UTC}"], capture=True)
        yield connection


def test_the_engine_is_sqlalchemy_on_psycopg_and_reads_the_warehouse(conn):
    engine = frames.engine()
    assert engine.url.drivername == "postgresql+psycopg"
    orders = pd.read_sql("select order_id from analytics.fct_orders", engine)
    assert len(orders) == 4


def test_revenue_frames_hold_the_payload_parts_with_exact_money(conn):
    revenue = frames.revenue(START, END, conn=conn)
    assert {"totals", "by_payment_method", "by_service_category", "daily_trend", "top_services"} <= set(revenue)
    totals = revenue["totals"].iloc[0]
    assert (totals["total_revenue"], totals["refund_amount"], totals["net_revenue"]) == (
        D("50.00"),
        D("5.00"),
        D("45.00"),
    )
    assert isinstance(totals["total_revenue"], Decimal)  # never a float
    trend = revenue["daily_trend"]
    assert trend["date"].dtype.kind == "M"  # datetime64: plots and resamples as dates
    assert list(trend["date"].dt.date) == [dt.date(2026, 7, 9), dt.date(2026, 7, 10)]
    assert list(trend["total_revenue"]) == [D("30.00"), D("20.00")]
    assert sum(trend["net_revenue"]) == D("45.00")  # Decimal sums stay exact
    assert revenue["daily_trend"].attrs["period"]["start"] == START


def test_the_filters_of_the_query_api_apply(conn):
    revenue = frames.revenue(START, END, partner_id=SPARKLE, conn=conn)
    assert revenue["totals"].iloc[0]["total_revenue"] == D("30.00")  # Sparkle's O1 only


def test_single_figures_of_a_payload_are_its_summary_frame(conn):
    orders = frames.orders(START, END, conn=conn)
    summary = orders["summary"].iloc[0]
    assert (summary["completion_rate"], summary["cancellation_rate"]) == (D("50.00"), D("25.00"))  # 2 and 1 of 4
    assert orders["average_minutes"].iloc[0]["total"] == D("330.00")  # (400 + 260) / 2


def test_every_registered_payload_type_is_a_frames_function(conn):
    for name in registry.payload_types():
        parts = getattr(frames, name)(START, END, conn=conn)
        assert parts and all(isinstance(frame, pd.DataFrame) for frame in parts.values()), name


def test_a_payload_type_registered_later_appears_in_frames(conn):
    registry.register(dataclasses.replace(REVENUE_TYPE, name="revenue_copy"))
    try:
        assert "revenue_copy" in dir(frames)
        assert frames.revenue_copy(START, END, conn=conn)["totals"].iloc[0]["total_revenue"] == D("50.00")
    finally:
        registry.unregister("revenue_copy")
    with pytest.raises(AttributeError):
        getattr(frames, "revenue_copy")  # noqa: B009  (an attribute that is gone)


def test_a_mart_over_a_date_range(conn):
    daily = frames.mart("daily_revenue_summaries", "2026-07-10", "2026-07-10", conn=conn)
    assert list(daily["date"].dt.date) == [dt.date(2026, 7, 10)]
    orders = frames.mart("fct_orders", START, END, conn=conn)
    assert len(orders) == 4 and orders["order_date"].min().date() == dt.date(2026, 7, 9)
    assert sum(orders["captured_amount"]) == D("50.00")  # exact: Decimal, not float


def test_a_dimension_is_read_whole_and_takes_no_dates(conn):
    assert sorted(frames.mart("dim_partners", conn=conn)["business_name"]) == ["Bubbles", "Sparkle"]
    with pytest.raises(ValueError, match="dim_partners has no date column"):  # a range would be ignored
        frames.mart("dim_partners", START, END, conn=conn)


@pytest.mark.parametrize("name", ["orders; drop table analytics.fct_orders", "customer_contacts", "ops.orders"])
def test_a_mart_name_outside_the_whitelist_is_refused(conn, name):
    with pytest.raises(ValueError, match="unknown mart"):
        frames.mart(name, START, END, conn=conn)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-07-32", END, "is not a date"),
        (END, START, "is before start"),
        ("2020-01-01", "2026-07-10", "at most"),
    ],
)
def test_bad_dates_are_refused_as_the_query_api_refuses_them(conn, start, end, message):
    with pytest.raises(ValueError, match=message):
        frames.mart("fct_orders", start, end, conn=conn)
    with pytest.raises(ValueError, match=message):
        frames.revenue(start, end, conn=conn)


def test_every_mart_of_the_analytics_schema_is_in_the_whitelist(conn):
    built = {
        name
        for (name,) in conn.execute("select table_name from information_schema.tables where table_schema = 'analytics'")
    }
    # The cache, freshness and delta bookkeeping (docs/architecture.md) are not marts.
    bookkeeping = {"analytics_cache", "mart_refreshes", "delta_watermarks"}
    assert {name for name in built - bookkeeping if not name.endswith("_changes")} == set(frames.MARTS)
    for name, column in frames.MARTS.items():
        rows = frames.mart(name, START, END, conn=conn) if column else frames.mart(name, conn=conn)
        assert isinstance(rows, pd.DataFrame), name


def test_sqlalchemy_engine_url_for_the_settings(conn):
    assert isinstance(frames.engine(), sqlalchemy.Engine)
