"""The query API on a small hand-built dataset: every expected number is worked
out by hand from the rows below (business time zone UTC, as_of 2026-07-10).

    O1  Ann, Sparkle, completed, Thu 2026-07-09 09:15; 2 x Wash 5kg (10.00) + 1 x Suit (20.00);
        card 30.00 captured; refund 5.00 completed. Stages 10 / 60 / 240 / 90 min (total 400).
    O2  Bob, Sparkle, cancelled, Fri 2026-07-10 09:40; 1 x Wash 5kg (5.00); no payment.
    O3  Bob, Bubbles, completed, Fri 2026-07-10 18:05; 1 x Suit (20.00); cash 12.00 + wallet 8.00
        captured, card 20.00 failed. Stages 20 / 60 / 120 / 60 min (total 260).
    O4  Ann, no partner, pending, Fri 2026-07-10 09:50; 1 x Wash 5kg (5.00); online 7.50 pending.
"""

import datetime as dt
from decimal import Decimal

import jsonschema
import psycopg
import pytest

from laundry_analytics import analytics
from laundry_analytics.analytics.aggregates import whole_weeks
from laundry_analytics.dbt_runner import run_dbt


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


ANN, BOB = uid(1), uid(2)
SPARKLE, BUBBLES = uid(11), uid(12)
WASH_CAT, DRY_CAT, WASH, SUIT = uid(21), uid(22), uid(23), uid(24)
O1, O2, O3, O4 = uid(31), uid(32), uid(33), uid(34)

ROWS = f"""
insert into ops.users values
  ('{ANN}', 'ann.lee@example.com', 'Ann Lee', '555-0199', '2026-01-01T00:00Z', true, false),
  ('{BOB}', 'bob@example.org', 'Bob Stone', null, '2026-01-02T00:00Z', true, false);
insert into ops.partners values
  ('{SPARKLE}', 'Sparkle', 'Lisbon', 10, true, '2025-12-01T00:00Z'),
  ('{BUBBLES}', 'Bubbles', 'Porto', null, false, '2025-12-01T00:00Z');
insert into ops.service_categories values ('{WASH_CAT}', 'Wash & Fold'), ('{DRY_CAT}', 'Dry Cleaning');
insert into ops.services values
  ('{WASH}', '{WASH_CAT}', 'Wash 5kg', 5.00, true),
  ('{SUIT}', '{DRY_CAT}', 'Suit', 20.00, true);
insert into ops.orders values
  ('{O1}', 'LC-1', '{ANN}', '{SPARKLE}', 'completed', 30.00, '2026-07-09T09:15Z', '2026-07-09T09:25Z', null,
   '2026-07-09T10:25Z', '2026-07-09T14:25Z', '2026-07-09T15:55Z', null, '2026-07-09T15:55Z'),
  ('{O2}', 'LC-2', '{BOB}', '{SPARKLE}', 'cancelled', 5.00, '2026-07-10T09:40Z', null, null,
   null, null, null, '2026-07-10T09:45Z', '2026-07-10T09:45Z'),
  ('{O3}', 'LC-3', '{BOB}', '{BUBBLES}', 'completed', 20.00, '2026-07-10T18:05Z', '2026-07-10T18:25Z', null,
   '2026-07-10T19:25Z', '2026-07-10T21:25Z', '2026-07-10T22:25Z', null, '2026-07-10T22:25Z'),
  ('{O4}', 'LC-4', '{ANN}', null, 'pending', 5.00, '2026-07-10T09:50Z', null, null,
   null, null, null, null, '2026-07-10T09:50Z');
insert into ops.order_items values
  ('{uid(41)}', '{O1}', '{WASH}', 2, 5.00, 10.00),
  ('{uid(42)}', '{O1}', '{SUIT}', 1, 20.00, 20.00),
  ('{uid(43)}', '{O2}', '{WASH}', 1, 5.00, 5.00),
  ('{uid(44)}', '{O3}', '{SUIT}', 1, 20.00, 20.00),
  ('{uid(45)}', '{O4}', '{WASH}', 1, 5.00, 5.00);
insert into ops.payments values
  ('{uid(51)}', '{O1}', 30.00, 'card', 'completed', '2026-07-09T09:16Z', '2026-07-09T09:16Z', '2026-07-09T09:16Z'),
  ('{uid(52)}', '{O3}', 20.00, 'card', 'failed', '2026-07-10T18:06Z', null, '2026-07-10T18:06Z'),
  ('{uid(53)}', '{O3}', 12.00, 'cash', 'completed', '2026-07-10T22:25Z', '2026-07-10T22:25Z', '2026-07-10T22:25Z'),
  ('{uid(54)}', '{O3}', 8.00, 'wallet', 'completed', '2026-07-10T22:26Z', '2026-07-10T22:26Z', '2026-07-10T22:26Z'),
  ('{uid(55)}', '{O4}', 7.50, 'online', 'pending', '2026-07-10T09:51Z', null, '2026-07-10T09:51Z');
insert into ops.refunds values
  ('{uid(61)}', '{O1}', '{uid(51)}', 5.00, 'completed', 'stain', '2026-07-09T20:00Z', '2026-07-09T20:00Z');
"""

START, END = "2026-07-09", "2026-07-10"
D = Decimal


@pytest.fixture(scope="module")
def conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        connection.execute(ROWS)
        run_dbt(["run", "--vars", "{as_of_date: '2026-07-10', business_timezone: UTC}"], capture=True)
        yield connection


def test_revenue_totals_methods_categories_and_trend(conn):
    p = analytics.revenue(START, END, conn=conn)
    assert p["totals"] == {
        "total_revenue": D("50.00"),
        "refund_amount": D("5.00"),
        "net_revenue": D("45.00"),
        "refund_count": 1,
        "total_orders": 4,
        "paid_orders": 2,
        "average_order_value": D("25.00"),
    }
    assert [(m["method"], m["revenue"], m["share"]) for m in p["by_payment_method"]] == [
        ("cash", D("12.00"), D("24.00")),
        ("card", D("30.00"), D("60.00")),
        ("wallet", D("8.00"), D("16.00")),
        ("online", D("0.00"), D("0.00")),
    ]
    # Item sales of the paid orders O1 and O3: suits 20 + 20, washes 10.
    assert p["by_service_category"] == [
        {"category": "Dry Cleaning", "item_sales": D("40.00"), "quantity": 2, "orders": 2},
        {"category": "Wash & Fold", "item_sales": D("10.00"), "quantity": 2, "orders": 1},
    ]
    assert [(s["service"], s["item_sales"]) for s in p["top_services"]] == [
        ("Suit", D("40.00")),
        ("Wash 5kg", D("10.00")),
    ]
    assert [(str(d["date"]), d["total_orders"], d["total_revenue"], d["net_revenue"]) for d in p["daily_trend"]] == [
        ("2026-07-09", 1, D("30.00"), D("25.00")),
        ("2026-07-10", 3, D("20.00"), D("20.00")),
    ]


def test_revenue_of_one_partner(conn):
    p = analytics.revenue(START, END, partner_id=SPARKLE, conn=conn)
    assert (p["totals"]["total_orders"], p["totals"]["total_revenue"], p["totals"]["paid_orders"]) == (2, D("30.00"), 1)
    assert p["period"]["partner_id"] == SPARKLE


def test_orders_by_status_hour_weekday_durations_and_rates(conn):
    p = analytics.orders(START, END, conn=conn)
    assert p["totals"] == {"total_orders": 4, "completed_orders": 2, "cancelled_orders": 1, "pending_orders": 1}
    assert {s["status"]: s["orders"] for s in p["by_status"] if s["orders"]} == {
        "completed": 2,
        "cancelled": 1,
        "pending": 1,
    }
    assert {h["hour"]: h["orders"] for h in p["by_hour"] if h["orders"]} == {9: 3, 18: 1}
    assert {d["day"]: d["orders"] for d in p["by_day_of_week"] if d["orders"]} == {"Thursday": 1, "Friday": 3}
    assert p["average_minutes"] == {
        "acceptance": D("15.00"),
        "pickup": D("60.00"),
        "processing": D("180.00"),
        "delivery": D("75.00"),
        "total": D("330.00"),
    }
    assert (p["completion_rate"], p["cancellation_rate"]) == (D("50.00"), D("25.00"))
    # Any status: the cancelled O2 counts here.
    assert p["by_service_category"] == [
        {"category": "Dry Cleaning", "orders": 2, "quantity": 2},
        {"category": "Wash & Fold", "orders": 3, "quantity": 4},
    ]


def test_partners_rates_are_the_rates_of_the_range_sums(conn):
    p = analytics.partners(START, END, conn=conn, min_orders=1)
    assert p["partner_counts"] == {"total": 2, "active": 1, "inactive": 1}
    assert p["totals"] == {"partners_with_orders": 2, "orders_received": 3, "revenue": D("50.00")}
    # Sparkle: 2 received, 1 accepted, 1 completed -> 50 / 100; Bubbles 100 / 100.
    assert (p["average_acceptance_rate"], p["average_completion_rate"]) == (D("75.00"), D("100.00"))
    assert [(t["business_name"], t["acceptance_rate"], t["revenue"]) for t in p["top_performers"]] == [
        ("Sparkle", D("50.00"), D("30.00")),
        ("Bubbles", D("100.00"), D("20.00")),
    ]
    assert [(t["date"].isoformat(), t["orders_received"], t["revenue"]) for t in p["trend"]] == [
        ("2026-07-09", 1, D("30.00")),
        ("2026-07-10", 2, D("20.00")),
    ]
    assert analytics.partners(START, END, conn=conn)["top_performers"] == []  # nobody has 5 orders


def test_customers_segments_lifetime_value_and_masked_top(conn):
    p = analytics.customers(START, END, conn=conn)
    assert p["totals"] == {
        "total_customers": 2,
        "new_customers": 2,
        "at_risk_customers": 0,
        "total_lifetime_value": D("45.00"),
        "average_lifetime_value": D("22.50"),
        "active_customers": 2,
    }
    assert p["segments"] == {"churned": 0, "vip": 0, "regular": 0, "new": 2, "occasional": 0}
    assert p["churn_rate"] == D("0.00")
    assert p["top_customers"] == [
        {
            "customer": "A*** L***",
            "email": "a***@example.com",
            "lifetime_value": D("25.00"),
            "total_orders": 2,
            "segment": "new",
        },
        {
            "customer": "B*** S***",
            "email": "b***@example.org",
            "lifetime_value": D("20.00"),
            "total_orders": 2,
            "segment": "new",
        },
    ]
    assert [d["new_customers"] for d in p["acquisition_trend"]] == [1, 1]


def test_dashboard_today_growth_and_top_partners(conn):
    p = analytics.dashboard(START, END, conn=conn)
    assert p["today"] == {"date": p["period"]["end"], "revenue": D("20.00"), "orders": 3, "customers": 2}
    assert (p["previous_day"]["revenue"], p["previous_day"]["orders"], p["previous_day"]["customers"]) == (
        D("30.00"),
        1,
        1,
    )
    # (20 - 30) / 30 = -33.333 -> -33.33; (3 - 1) / 1 -> 200.00; (2 - 1) / 1 -> 100.00
    assert p["growth_percent"] == {"revenue": D("-33.33"), "orders": D("200.00"), "customers": D("100.00")}
    assert p["recent_orders"]["total_orders"] == 4
    assert [t["business_name"] for t in p["top_partners"]] == ["Sparkle", "Bubbles"]
    assert (p["active_partners"], p["partners_with_orders"]) == (1, 2)


def test_growth_is_null_when_the_previous_day_had_nothing(conn):
    p = analytics.dashboard("2026-07-09", "2026-07-09", conn=conn)
    assert p["growth_percent"] == {"revenue": None, "orders": None, "customers": None}


def test_payloads_leave_no_prepared_statement_on_a_long_lived_connection(conn):
    # psycopg prepares a query from its fifth execution; PostgreSQL then plans it for
    # any parameter, which at 10M orders made the customers payload ~40x slower on
    # a connection that had run it ten times. The API plans each query for its range.
    threshold = conn.prepare_threshold
    for _ in range(12):
        for payload_type in analytics.payload_types():
            analytics.payload(payload_type, "2026-07-01", "2026-07-10", conn=conn)
    assert conn.execute("select count(*) from pg_prepared_statements").fetchone()[0] == 0
    assert conn.prepare_threshold == threshold


@pytest.mark.parametrize("payload_type", analytics.payload_types())
def test_every_payload_matches_its_json_schema(conn, payload_type):
    for partner in (None, SPARKLE):
        data = analytics.to_jsonable(analytics.payload(payload_type, START, END, partner, conn=conn))
        jsonschema.validate(
            data, analytics.json_schema(payload_type), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )


@pytest.mark.parametrize(
    ("start", "end", "partner", "message"),
    [
        ("2026-07-10", "2026-07-01", None, "is before start"),
        ("2026-13-01", "2026-07-01", None, "is not a date"),
        ("2024-01-01", "2026-07-01", None, "at most 731"),
        (START, END, "not-a-uuid", "is not a partner id"),
        (START, END, uid(99), "no partner"),
    ],
)
def test_invalid_ranges_and_partners_are_refused(conn, start, end, partner, message):
    with pytest.raises(ValueError, match=message):
        analytics.revenue(start, end, partner_id=partner, conn=conn)


# --- filters: every figure of the payload honours them ---------------------------------


def test_a_category_filter_keeps_the_orders_with_an_item_of_it_and_only_its_lines(conn):
    # Dry Cleaning (the Suit) is in O1 and O3: their whole payments and refund count.
    p = analytics.revenue(START, END, service_category="Dry Cleaning", conn=conn)
    assert p["period"]["service_category"] == "Dry Cleaning"
    assert p["totals"] == {
        "total_revenue": D("50.00"),
        "refund_amount": D("5.00"),
        "net_revenue": D("45.00"),
        "refund_count": 1,
        "total_orders": 2,
        "paid_orders": 2,
        "average_order_value": D("25.00"),
    }
    assert [(m["method"], m["revenue"]) for m in p["by_payment_method"]] == [
        ("cash", D("12.00")),
        ("card", D("30.00")),
        ("wallet", D("8.00")),
        ("online", D("0.00")),
    ]
    assert [(str(d["date"]), d["total_orders"], d["total_revenue"]) for d in p["daily_trend"]] == [
        ("2026-07-09", 1, D("30.00")),
        ("2026-07-10", 1, D("20.00")),
    ]
    # Item tables: the category's lines only (O1's washes are not Dry Cleaning).
    assert p["by_service_category"] == [
        {"category": "Dry Cleaning", "item_sales": D("40.00"), "quantity": 2, "orders": 2}
    ]
    assert [(s["service"], s["item_sales"]) for s in p["top_services"]] == [("Suit", D("40.00"))]


def test_a_category_filter_on_the_orders_payload(conn):
    # Wash & Fold is in O1 (completed), O2 (cancelled) and O4 (pending); only O1 has durations.
    p = analytics.orders(START, END, service_category="Wash & Fold", conn=conn)
    assert p["totals"] == {"total_orders": 3, "completed_orders": 1, "cancelled_orders": 1, "pending_orders": 1}
    assert {h["hour"]: h["orders"] for h in p["by_hour"] if h["orders"]} == {9: 3}
    assert p["average_minutes"] == {
        "acceptance": D("10.00"),
        "pickup": D("60.00"),
        "processing": D("240.00"),
        "delivery": D("90.00"),
        "total": D("400.00"),
    }
    assert (p["completion_rate"], p["cancellation_rate"]) == (D("33.33"), D("33.33"))
    assert p["by_service_category"] == [{"category": "Wash & Fold", "orders": 3, "quantity": 4}]


def test_a_category_filter_with_a_partner(conn):
    p = analytics.revenue(START, END, partner_id=SPARKLE, service_category="Wash & Fold", conn=conn)
    # Sparkle's orders with a wash: O1 (paid 30) and O2 (unpaid).
    assert (p["totals"]["total_orders"], p["totals"]["total_revenue"], p["totals"]["paid_orders"]) == (2, D("30.00"), 1)
    assert p["by_service_category"] == [
        {"category": "Wash & Fold", "item_sales": D("10.00"), "quantity": 2, "orders": 1}
    ]


def test_a_city_filter_keeps_that_citys_partners_in_every_partner_figure(conn):
    p = analytics.partners(START, END, city="Lisbon", conn=conn, min_orders=1)
    assert p["period"]["city"] == "Lisbon"
    assert p["partner_counts"] == {"total": 1, "active": 1, "inactive": 0}
    assert p["totals"] == {"partners_with_orders": 1, "orders_received": 2, "revenue": D("30.00")}
    # Sparkle: 2 received, 1 accepted (O1), 1 completed -> 50 / 100.
    assert (p["average_acceptance_rate"], p["average_completion_rate"]) == (D("50.00"), D("100.00"))
    assert p["average_minutes"]["total"] == D("400.00")  # O1 only, not Bubbles' O3 (260)
    assert [t["business_name"] for t in p["top_performers"] + p["low_performers"]] == ["Sparkle", "Sparkle"]
    assert [(t["date"].isoformat(), t["orders_received"], t["revenue"]) for t in p["trend"]] == [
        ("2026-07-09", 1, D("30.00")),
        ("2026-07-10", 1, D("0.00")),
    ]
    assert p["orders_without_partner"] is None


def test_the_partners_payload_counts_the_orders_without_a_partner(conn):
    assert analytics.partners(START, END, conn=conn)["orders_without_partner"] == {"orders": 1, "revenue": D("0.00")}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda c: analytics.revenue(START, END, service_category="Dry cleaning", conn=c),
            "service_category 'Dry cleaning' matches no service category sold in the marts; nearest: Dry Cleaning",
        ),
        (
            lambda c: analytics.partners(START, END, city="Lisboa", conn=c),
            "city 'Lisboa' matches no partner's city in analytics.dim_partners; nearest: Lisbon",
        ),
        (
            lambda c: analytics.partners(START, END, BUBBLES, city="Lisbon", conn=c),
            f"partner_id {BUBBLES} is in Porto, not in city 'Lisbon'",
        ),
        (
            lambda c: analytics.payload("customers", START, END, conn=c, city="Lisbon"),
            "the customers payload cannot be filtered by city",
        ),
        (
            lambda c: analytics.revenue(START, END, partner_id="Sparkel", conn=c),
            f"nearest partners by name: {SPARKLE} (Sparkle, Lisbon)",
        ),
    ],
)
def test_a_filter_value_the_marts_do_not_have_is_refused_with_the_nearest(conn, call, message):
    with pytest.raises(ValueError) as refused:
        call(conn)
    assert message in str(refused.value)


def test_completeness_counts_open_orders_per_day_and_unfinished_days(conn):
    noon = dt.datetime(2026, 7, 10, 12, 0, tzinfo=dt.timezone.utc)
    status = analytics.completeness(START, END, conn=conn, now=noon)
    # O4 (pending) is the one open order of 2026-07-10's three; 2026-07-10 is today at noon.
    assert status["open_orders_by_day"] == [{"date": dt.date(2026, 7, 10), "orders": 3, "open_orders": 1}]
    assert status["unfinished_days"] == [dt.date(2026, 7, 10)]
    assert status["data_up_to"] == noon  # the marts were built later than this "now": never after it
    # Filtered like the payload: the Dry Cleaning orders (O1, O3) are all closed.
    assert (
        analytics.completeness(START, END, service_category="Dry Cleaning", conn=conn, now=noon + dt.timedelta(days=1))[
            "open_orders_by_day"
        ]
        == []
    )


def test_the_customers_payload_says_its_as_of_date(conn):
    assert analytics.customers(START, END, conn=conn)["as_of_date"] == dt.date(2026, 7, 10)


@pytest.mark.parametrize(
    ("payload_type", "filters"),
    [
        ("revenue", {"service_category": "Dry Cleaning"}),
        ("orders", {"service_category": "Wash & Fold"}),
        ("partners", {"city": "Lisbon"}),
    ],
)
def test_filtered_payloads_match_their_json_schema(conn, payload_type, filters):
    data = analytics.to_jsonable(analytics.payload(payload_type, START, END, conn=conn, **filters))
    jsonschema.validate(
        data, analytics.json_schema(payload_type), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2026, 7, 1), dt.date(2026, 7, 10)),  # reaches the latest order date
        (dt.date(2026, 7, 10), dt.date(2026, 7, 10)),
        (dt.date(2026, 7, 1), dt.date(2026, 7, 9)),  # ends before it
        (dt.date(2026, 7, 9), dt.date(2026, 7, 9)),
    ],
)
def test_active_customers_are_the_distinct_customers_with_an_order_in_the_range(conn, start, end):
    """A range that reaches the latest order date counts customers by their last
    order date (customer_analytics); any other range the distinct customers of its
    orders. Both mean the same, checked against the orders themselves."""
    if start > end:
        pytest.skip("not a range")
    expected = conn.execute(
        "select count(distinct customer_id) from analytics.fct_orders where order_date between %s and %s",
        (start, end),
    ).fetchone()[0]
    assert analytics.customers(start, end, conn=conn)["totals"]["active_customers"] == expected


@pytest.mark.parametrize("start_offset", range(7))
def test_a_range_splits_into_its_whole_weeks_and_the_days_around_them(start_offset):
    # Every date of the range exactly once: in a whole ISO week (Monday to Sunday)
    # inside the range, or in the head or tail days around them.
    start = dt.date(2026, 11, 2) + dt.timedelta(days=start_offset)  # 2 November 2026 is a Monday
    for length in range(1, 40):
        end = start + dt.timedelta(days=length - 1)
        split = whole_weeks(start, end)
        covered = []
        week = split["first_week"]
        while week <= split["last_week"]:
            assert week.weekday() == 0 and week >= start and week + dt.timedelta(days=6) <= end
            covered += [week + dt.timedelta(days=k) for k in range(7)]
            week += dt.timedelta(days=7)
        for low, high in ((start, split["head_end"]), (split["tail_start"], end)):
            covered += [low + dt.timedelta(days=k) for k in range((high - low).days + 1)]
        assert sorted(covered) == [start + dt.timedelta(days=k) for k in range(length)], (start, end, split)
        assert (split["first_week"] <= split["last_week"]) == any(
            (start + dt.timedelta(days=k)).weekday() == 0 and k + 6 < length for k in range(length)
        )
