"""The analytics query API: the original system's five dashboard endpoints
(dashboard, revenue, orders, partners, customers) as functions over the marts.

    from laundry_analytics import analytics
    analytics.revenue(date(2026, 1, 1), date(2026, 1, 31), partner_id=None)

Every payload is computed from the marts (`fct_orders`, `fct_order_items`, their
daily aggregates `agg_orders_daily`, `agg_item_sales_daily` and `agg_customers_daily`,
`partner_performance_metrics`, `customer_analytics`, `dim_partners`,
`dim_customers`), never from `ops`: each metric keeps its one definition in dbt,
and this module only adds it up over a date range. A range over all partners adds
up the daily aggregates, so its cost grows with the number of days, not orders;
a filtered range reads the range's rows of the facts (indexed by date and
partner). `analytics_cache` is filled by calling these same functions
(laundry_analytics.cache).

Conventions of every payload (JSON Schemas in laundry_analytics/schemas/):
- the range is `start`..`end`, both inclusive, on order dates (local dates in the
  business time zone); the default is the last 30 days up to today;
- a filter applies to every figure of the payload (laundry_analytics.windows):
  `partner_id` (any payload), `service_category` (revenue, orders: the orders
  with an item of that category; item figures only that category's lines),
  `city` (partners: the partners of that city and their orders); `period`
  echoes them;
- money is exact to the cent; rates are percentages with 2 decimals, rounded half
  away from zero, and null when their denominator is 0 (docs/metrics.md);
- averages are over the orders where the value is known, 2 decimals, null if none;
- customer figures are as of the `as_of_date` of the last customer_analytics
  build (segments, lifetime value, churn risk move with it, not with the range).

`completeness()` says which of a range's figures can still change (days with
open orders, days not over yet), for the same filters as a payload.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_analytics.windows import (  # noqa: F401 (Window, make_window, today: part of this API)
    DEFAULT_RANGE_DAYS,
    PAYLOAD_FILTERS,
    Window,
    analytics_sql,
    make_window,
    today,
)

PAYLOAD_TYPES = ("dashboard", "revenue", "orders", "partners", "customers")
PAYLOAD_MARTS: dict[str, tuple[str, ...]] = {
    "dashboard": ("fct_orders", "agg_orders_daily", "partner_performance_metrics", "dim_partners",
                  "agg_customers_daily", "customer_analytics"),
    "revenue": ("agg_orders_daily", "agg_item_sales_daily", "fct_orders", "fct_order_items"),
    "orders": ("agg_orders_daily", "agg_item_sales_daily", "fct_orders", "fct_order_items"),
    "partners": ("partner_performance_metrics", "dim_partners", "agg_orders_daily", "fct_orders"),
    "customers": ("agg_customers_daily", "customer_analytics", "dim_customers", "fct_orders"),
}
"""The marts each payload reads, for all partners or for one: the cache assets'
dependencies in Dagster and the marts a scheduled report waits for."""
PAYMENT_METHODS = ("cash", "card", "wallet", "online")
ORDER_STATUSES = ("pending", "accepted", "rejected", "picked_up", "processing", "ready",
                  "out_for_delivery", "completed", "cancelled", "unknown")
SEGMENTS = ("churned", "vip", "regular", "new", "occasional")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DURATIONS = ("acceptance", "pickup", "processing", "delivery", "total")
TOP_N = 10
MIN_ORDERS_TO_RANK_PARTNER = 5
"""A partner needs this many orders in the range to be ranked top or low performer."""

_CENT = Decimal("0.01")


# --- the five payloads ------------------------------------------------------------


def revenue(start=None, end=None, partner_id=None, *, service_category: str | None = None,
            conn: psycopg.Connection | None = None) -> dict:
    """Revenue: totals, by payment method, by service category, daily trend, top
    services (ranked among the category's services under `service_category`)."""
    with _connection(conn) as c:
        w = make_window(start, end, partner_id, service_category=service_category, conn=c)
        days = _orders_by_day(c, w)
        total = days.pop(None)
        categories, services = _item_sales(c, w, paid_only=True)
    return {
        "type": "revenue",
        "period": w.describe(),
        "totals": {
            "total_revenue": total["total_revenue"],
            "refund_amount": total["refund_amount"],
            "net_revenue": total["total_revenue"] - total["refund_amount"],
            "refund_count": total["refund_count"],
            "total_orders": total["total_orders"],
            "paid_orders": total["paid_orders"],
            "average_order_value": _ratio(total["total_revenue"], total["paid_orders"]),
        },
        "by_payment_method": [
            {"method": method, "revenue": total[f"{method}_revenue"],
             "share": rate(total[f"{method}_revenue"], total["total_revenue"])}
            for method in PAYMENT_METHODS
        ],
        "by_service_category": categories,
        "daily_trend": [
            {"date": day, "total_orders": row["total_orders"], "total_revenue": row["total_revenue"],
             "refund_amount": row["refund_amount"], "net_revenue": row["total_revenue"] - row["refund_amount"]}
            for day, row in _every_day(w, days, _EMPTY_DAY)
        ],
        "top_services": services[:TOP_N],
    }


def orders(start=None, end=None, partner_id=None, *, service_category: str | None = None,
           conn: psycopg.Connection | None = None) -> dict:
    """Orders: by status, service category, local hour and day of week; average
    durations; completion and cancellation rates."""
    with _connection(conn) as c:
        w = make_window(start, end, partner_id, service_category=service_category, conn=c)
        rows = c.execute(_sql("""
            select grouping(status) as by_status, grouping(order_hour) as by_hour,
                   grouping(order_day_of_week) as by_dow,
                   status, order_hour, order_day_of_week,
                   coalesce(sum(orders), 0)::int as total_orders,
                   coalesce(sum(completed_orders), 0)::int as completed_orders,
                   coalesce(sum(cancelled_orders), 0)::int as cancelled_orders,
                   coalesce(sum(open_orders), 0)::int as pending_orders,
                   {averages}
            from {rows}
            group by grouping sets ((), (status), (order_hour), (order_day_of_week))
        """, rows=_order_rows(w), averages=_DURATION_AVERAGES), w.params()).fetchall()
        categories, _ = _item_sales(c, w, paid_only=False)
    total = next((r for r in rows if r["by_status"] and r["by_hour"] and r["by_dow"]),
                 {"total_orders": 0, "completed_orders": 0, "cancelled_orders": 0, "pending_orders": 0,
                  **{f"avg_{name}_minutes": None for name in DURATIONS}})
    by_status = {r["status"]: r["total_orders"] for r in rows if not r["by_status"]}
    by_hour = {r["order_hour"]: r["total_orders"] for r in rows if not r["by_hour"]}
    by_dow = {r["order_day_of_week"]: r["total_orders"] for r in rows if not r["by_dow"]}
    return {
        "type": "orders",
        "period": w.describe(),
        "totals": {key: total[key] for key in ("total_orders", "completed_orders", "cancelled_orders", "pending_orders")},
        "by_status": [{"status": s, "orders": by_status.get(s, 0)} for s in ORDER_STATUSES],
        "by_service_category": [{key: row[key] for key in ("category", "orders", "quantity")} for row in categories],
        "by_hour": [{"hour": hour, "orders": by_hour.get(hour, 0)} for hour in range(24)],
        "by_day_of_week": [{"day_of_week": n, "day": DAY_NAMES[n], "orders": by_dow.get(n, 0)} for n in range(7)],
        "average_minutes": {name: total[f"avg_{name}_minutes"] for name in DURATIONS},
        "completion_rate": rate(total["completed_orders"], total["total_orders"]),
        "cancellation_rate": rate(total["cancelled_orders"], total["total_orders"]),
    }


def partners(start=None, end=None, partner_id=None, *, city: str | None = None,
             conn: psycopg.Connection | None = None, min_orders: int = MIN_ORDERS_TO_RANK_PARTNER) -> dict:
    """Partners (with `city`, that city's): counts, average acceptance and
    completion rates (the mean of each partner's rate over the range), average
    durations, top and low performers by completion rate then revenue (partners
    with at least `min_orders` orders), trend; and, over all partners, the orders
    that have no partner (in no partner's figures)."""
    with _connection(conn) as c:
        w = make_window(start, end, partner_id, city=city, conn=c)
        counts = c.execute(_sql("""
            select count(*) as total, count(*) filter (where is_active) as active,
                   count(*) filter (where not is_active) as inactive
            from {a}.dim_partners where {filter}
        """, filter=_partner_filter(w, "partner_id")), w.params()).fetchone()
        ranked = partner_totals(c, w)
        trend = {row["date"]: row for row in c.execute(_sql("""
            select date, sum(orders_received)::int as orders_received, sum(revenue) as revenue,
                   count(*)::int as partners_with_orders
            from {a}.partner_performance_metrics
            where date between %(start)s and %(end)s and {filter}
            group by date
        """, filter=_partner_filter(w, "partner_id")), w.params())}
        durations = c.execute(_sql("select {averages} from {rows} where has_partner",
                                   rows=_order_rows(w), averages=_DURATION_AVERAGES), w.params()).fetchone()
        without_partner = None if w.partner_id or w.city else _orders_without_partner(c, w)
    rankable = [p for p in ranked if p["orders_received"] >= min_orders]
    return {
        "type": "partners",
        "period": w.describe(),
        "partner_counts": counts,
        "totals": {
            "partners_with_orders": len(ranked),
            "orders_received": sum(p["orders_received"] for p in ranked),
            "revenue": sum((p["revenue"] for p in ranked), Decimal("0.00")),
        },
        "average_acceptance_rate": _mean(p["acceptance_rate"] for p in ranked),
        "average_completion_rate": _mean(p["completion_rate"] for p in ranked),
        "average_minutes": {name: durations[f"avg_{name}_minutes"] for name in DURATIONS},
        "top_performers": sorted(rankable, key=lambda p: (-(p["completion_rate"] or 0), -p["revenue"]))[:TOP_N],
        "low_performers": sorted(rankable, key=lambda p: (p["completion_rate"] or 0, p["revenue"]))[:TOP_N],
        "trend": [
            {"date": day, "orders_received": row["orders_received"], "revenue": row["revenue"],
             "partners_with_orders": row["partners_with_orders"]}
            for day, row in _every_day(w, trend, {"orders_received": 0, "revenue": Decimal("0.00"),
                                                  "partners_with_orders": 0})
        ],
        "orders_without_partner": without_partner,
    }


def _orders_without_partner(c: psycopg.Connection, w: Window) -> dict:
    """The range's orders assigned to no partner (so in no partner's figures) and their revenue."""
    return c.execute(_sql("""
        select coalesce(sum(orders), 0)::int as orders, coalesce(sum(captured_amount), 0) as revenue
        from {a}.agg_orders_daily
        where order_date between %(start)s and %(end)s and not has_partner
    """), w.params()).fetchone()


def customers(start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None) -> dict:
    """Customers acquired by the end of the range (with the partner: who ordered
    from it): totals, segments, lifetime value, at-risk count, top customers by
    lifetime value (PII masked), acquisition trend, churn rate."""
    with _connection(conn) as c:
        w = make_window(start, end, partner_id, conn=c)
        rows = _customer_rows(w)
        totals = c.execute(_sql("""
            select coalesce(sum(customers), 0)::int as total_customers,
                   coalesce(sum(customers) filter (where first_order_date between %(start)s and %(end)s), 0)::int
                       as new_customers,
                   coalesce(sum(customers) filter (where is_at_churn_risk), 0)::int as at_risk_customers,
                   coalesce(sum(lifetime_value), 0) as total_lifetime_value,
                   round(sum(lifetime_value) / nullif(sum(lifetime_value_count), 0), 2) as average_lifetime_value
            from {rows}
        """, rows=rows), w.params()).fetchone()
        # Distinct customers with an order in the range: a hashed distinct over the
        # (order_date, customer_id) index only, not a sort of every order.
        active = c.execute(_sql("select count(*) as n from (select distinct customer_id from {a}.fct_orders "
                                "where {filter}) as active", filter=_order_filter(w)), w.params()).fetchone()["n"]
        segments = _segment_counts(c, w)
        top = top_customers(c, w)
        acquisition = {row["date"]: row for row in c.execute(_sql("""
            select first_order_date as date, sum(customers)::int as new_customers
            from {rows}
            where first_order_date between %(start)s and %(end)s
            group by first_order_date
        """, rows=rows), w.params())}
        as_of = customers_as_of(c)
    return {
        "type": "customers",
        "period": w.describe(),
        "as_of_date": as_of,
        "totals": {**totals, "active_customers": active},
        "segments": segments,
        "churn_rate": rate(segments["churned"], totals["total_customers"]),
        "top_customers": top,
        "acquisition_trend": [{"date": day, "new_customers": row["new_customers"]}
                              for day, row in _every_day(w, acquisition, {"new_customers": 0})],
    }


def dashboard(start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None) -> dict:
    """Dashboard: today's (= end's) revenue, orders and customers with growth vs the
    previous day; the range's orders by status; top partners; customer segments;
    active partners."""
    with _connection(conn) as c:
        w = make_window(start, end, partner_id, conn=c)
        days = {row.pop("order_date"): row for row in c.execute(_sql("""
            select order_date, count(*)::int as orders, coalesce(sum(captured_amount), 0) as revenue,
                   count(distinct customer_id)::int as customers
            from {a}.fct_orders
            where order_date between %(end)s - 1 and %(end)s {and_partner}
            group by order_date
        """, and_partner=_partner_scope(w)), w.params())}
        zero = {"orders": 0, "revenue": Decimal("0.00"), "customers": 0}
        today_row = days.get(w.end, zero)
        yesterday = days.get(w.end - dt.timedelta(days=1), zero)
        statuses = {row["status"]: row["orders"] for row in c.execute(_sql(
            "select status, sum(orders)::int as orders from {rows} group by status", rows=_order_rows(w)), w.params())}
        active = c.execute(_sql("""
            select count(*) filter (where is_active) as active_partners from {a}.dim_partners where {filter}
        """, filter=_partner_filter(w, "partner_id")), w.params()).fetchone()["active_partners"]
        ranked = partner_totals(c, w)
        segments = _segment_counts(c, w)
    return {
        "type": "dashboard",
        "period": w.describe(),
        "today": {"date": w.end, **today_row},
        "previous_day": {"date": w.end - dt.timedelta(days=1), **yesterday},
        "growth_percent": {key: _growth(today_row[key], yesterday[key]) for key in ("revenue", "orders", "customers")},
        "recent_orders": {
            "total_orders": sum(statuses.values()),
            "by_status": [{"status": s, "orders": statuses.get(s, 0)} for s in ORDER_STATUSES],
        },
        "top_partners": sorted(ranked, key=lambda p: (-p["revenue"], p["partner_id"]))[:5],
        "customer_segments": segments,
        "active_partners": active,
        "partners_with_orders": len(ranked),
    }


PAYLOADS: dict[str, Callable[..., dict]] = {
    "dashboard": dashboard, "revenue": revenue, "orders": orders, "partners": partners, "customers": customers,
}


def payload(payload_type: str, start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None,
            **filters: str | None) -> dict:
    """The payload of one type (see PAYLOAD_TYPES) for a range, with the filters
    that type applies (PAYLOAD_FILTERS; a None value is no filter)."""
    if payload_type not in PAYLOADS:
        raise ValueError(f"unknown payload {payload_type!r}: choose one of {', '.join(PAYLOAD_TYPES)}")
    given = {key: value for key, value in filters.items() if value is not None}
    refused = sorted(set(given) - set(PAYLOAD_FILTERS[payload_type]))
    if refused:
        raise ValueError(f"the {payload_type} payload cannot be filtered by {', '.join(refused)}; it takes "
                         + (", ".join(["partner_id", *PAYLOAD_FILTERS[payload_type]])))
    return PAYLOADS[payload_type](start, end, partner_id, conn=conn, **given)


def completeness(start=None, end=None, partner_id=None, *, service_category: str | None = None,
                 city: str | None = None, conn: psycopg.Connection | None = None,
                 now: dt.datetime | None = None) -> dict:
    """What of a range's figures can still change, over the same orders as the
    payload with these filters: each order date with open orders (status other
    than completed, cancelled, rejected: fct_orders.is_open) and how many of its
    orders are open; the dates not over yet in the business time zone at `now`
    (default: the current time); and `data_up_to`, the local time of the last
    fct_orders refresh (the marts' data goes up to then; never after `now`)."""
    zone = ZoneInfo(settings_module.load().business_timezone)
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone)
    with _connection(conn) as c:
        w = make_window(start, end, partner_id, service_category=service_category, city=city, conn=c)
        open_days = c.execute(_sql("""
            select order_date as date, sum(orders)::int as orders, sum(open_orders)::int as open_orders
            from {rows}
            group by order_date
            having sum(open_orders) > 0
            order by order_date
        """, rows=_order_rows(w)), w.params()).fetchall()
        refreshed = c.execute(_sql("select max(refreshed_at) as at from {a}.fct_orders")).fetchone()["at"]
    return {
        "period": w.describe(),
        "now": now,
        "data_up_to": min(refreshed, now).astimezone(zone) if refreshed else None,
        "open_orders_by_day": open_days,
        "unfinished_days": [day for day in w.dates() if day >= now.date()],
    }


def customers_as_of(c: psycopg.Connection) -> dt.date | None:
    """The as-of date of the last customer_analytics build (every row has the same):
    the date its segments, lifetime values and churn risk describe."""
    row = c.cursor(row_factory=dict_row).execute(_sql(
        "select last_order_date + days_since_last_order as as_of from {a}.customer_analytics limit 1")).fetchone()
    return row["as_of"] if row else None


# --- arithmetic, as docs/metrics.md defines it ---------------------------------------


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """A percentage with 2 decimals, half away from zero; None on a zero
    denominator (the same rule as the dbt macro `rate`)."""
    if not denominator:
        return None
    return (Decimal(100) * Decimal(numerator) / Decimal(denominator)).quantize(_CENT, ROUND_HALF_UP)


def _ratio(numerator: Decimal, denominator: int) -> Decimal | None:
    return (Decimal(numerator) / denominator).quantize(_CENT, ROUND_HALF_UP) if denominator else None


def _growth(current: int | Decimal, previous: int | Decimal) -> Decimal | None:
    return rate(Decimal(current) - Decimal(previous), previous)


def _mean(values) -> Decimal | None:
    known = [Decimal(v) for v in values if v is not None]
    return (sum(known) / len(known)).quantize(_CENT, ROUND_HALF_UP) if known else None


def to_jsonable(value):
    """Dates as ISO text, UUIDs as text, exact decimals as JSON numbers."""
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        # float's shortest repr of a 2-decimal amount below 2**53 / 100 is its exact text
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, dt.date | uuid.UUID):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


# --- shared pieces --------------------------------------------------------------------

_EMPTY_DAY = {"total_orders": 0, "total_revenue": Decimal("0.00"), "refund_amount": Decimal("0.00")}

# Σ minutes / Σ known durations: exactly avg() over the orders (PostgreSQL's avg of
# numeric is that division), whether the rows are orders or daily aggregates.
_DURATION_AVERAGES = sql.SQL(", ").join(
    sql.SQL("round(sum({total}) / nullif(sum({known}), 0), 2) as {alias}").format(
        total=sql.Identifier(f"{name}_minutes_sum"), known=sql.Identifier(f"{name}_minutes_count"),
        alias=sql.Identifier(f"avg_{name}_minutes"))
    for name in DURATIONS
)


_sql = analytics_sql


def _partner_scope(w: Window, *column: str) -> sql.Composable:
    """`and ...` keeping the rows of the window's partner and city; `column` is the
    partner id column. Only the filters asked for: no "(%s is null or ...)" that
    would keep plans off the indexes."""
    column = sql.Identifier(*(column or ("partner_id",)))
    parts = []
    if w.partner_id:
        parts.append(sql.SQL("and {} = %(partner_id)s").format(column))
    if w.city:
        parts.append(_sql("and {column} in (select partner_id from {a}.dim_partners where city = %(city)s)",
                          column=column))
    return sql.SQL(" ").join(parts)


def _order_filter(w: Window) -> sql.Composable:
    """fct_orders rows of the window: its dates, partner and city, and under a
    service category the orders with at least one item of it (a semi-join on the
    range's items: the date index, then a hash of the category's order ids)."""
    category = sql.SQL("")
    if w.service_category:
        category = _sql("""and order_id in (
            select order_id from {a}.fct_order_items
            where order_date between %(start)s and %(end)s and service_category_name = %(service_category)s)""")
    return sql.SQL("order_date between %(start)s and %(end)s {} {}").format(_partner_scope(w), category)


def _item_filter(w: Window) -> sql.Composable:
    """fct_order_items rows of the window: under a service category, only its lines."""
    category = sql.SQL("and service_category_name = %(service_category)s" if w.service_category else "")
    return sql.SQL("order_date between %(start)s and %(end)s {} {}").format(_partner_scope(w), category)


def _partner_filter(w: Window, column: str) -> sql.Composable:
    return sql.SQL("true {}").format(_partner_scope(w, column))


def _customer_population(w: Window) -> sql.Composable:
    """Customers acquired by the end of the range; with a partner, those who had
    ordered from it by then. The table is aliased `c`."""
    base = sql.SQL("c.first_order_date <= %(end)s")
    if not w.partner_id:
        return base
    return _sql("""{base} and exists (
        select 1 from {a}.fct_orders as f
        where f.customer_id = c.user_id and f.partner_id = %(partner_id)s and f.order_date <= %(end)s)""", base=base)


def _order_rows(w: Window) -> sql.Composable:
    """The rows whose sums are a window's order figures, aliased `order_rows`: for
    all orders the daily aggregates (agg_orders_daily: ~100k rows a year, whatever
    the order volume); under a filter (partner, city, category) the matching
    orders from fct_orders (indexed by date, and by partner and date) in the same
    shape, each order counting 1 and each known duration once."""
    if not w.is_filtered:
        return _sql("(select * from {a}.agg_orders_daily where order_date between %(start)s and %(end)s) as order_rows")
    return _sql("""(
        select order_date, order_day_of_week, status, order_hour, partner_id is not null as has_partner,
               1 as orders, is_completed::int as completed_orders, is_cancelled::int as cancelled_orders,
               is_open::int as open_orders, (captured_payment_count > 0)::int as paid_orders, captured_amount,
               {methods}, refunded_amount, refund_count, {durations}
        from {a}.fct_orders
        where {filter}
    ) as order_rows""", filter=_order_filter(w),
        methods=sql.SQL(", ").join(sql.Identifier(f"captured_{m}_amount") for m in PAYMENT_METHODS),
        durations=sql.SQL(", ").join(
            sql.SQL("{minutes} as {total}, ({minutes} is not null)::int as {known}").format(
                minutes=sql.Identifier(f"{name}_minutes"), total=sql.Identifier(f"{name}_minutes_sum"),
                known=sql.Identifier(f"{name}_minutes_count"))
            for name in DURATIONS))


def _item_rows(w: Window) -> sql.Composable:
    """The rows whose sums are a window's item sales, aliased `item_rows`: for all
    partners the daily aggregates (agg_item_sales_daily, which has the category, so
    a category filter keeps its rows only); for one partner or city its items
    from fct_order_items grouped the same way (per service, and per category with
    is_category_total, counting an order once per category)."""
    if not (w.partner_id or w.city):
        return _sql("(select * from {a}.agg_item_sales_daily where order_date between %(start)s and %(end)s "
                    "{category}) as item_rows", category=sql.SQL(
                        "and service_category_name = %(service_category)s" if w.service_category else ""))
    return _sql("""(
        select is_paid, service_category_name, service_name, grouping(service_name) = 1 as is_category_total,
               sum(line_total) as item_sales, sum(quantity) as quantity, count(distinct order_id) as orders
        from {a}.fct_order_items
        where {filter}
        group by grouping sets ((is_paid, service_category_name, service_name), (is_paid, service_category_name))
    ) as item_rows""", filter=_item_filter(w))


def _customer_rows(w: Window) -> sql.Composable:
    """The rows whose sums are the figures of a window's customer population (see
    _customer_population), aliased `customer_rows`: for all partners the counts per
    first order date, segment and churn flag (agg_customers_daily); for one partner
    its customers from customer_analytics in the same shape, each counting 1."""
    if w.partner_id is None:
        return _sql("(select * from {a}.agg_customers_daily where first_order_date <= %(end)s) as customer_rows")
    return _sql("""(
        select first_order_date, customer_segment, is_at_churn_risk, 1 as customers, lifetime_value,
               (lifetime_value is not null)::int as lifetime_value_count
        from {a}.customer_analytics as c
        where {population}
    ) as customer_rows""", population=_customer_population(w))


def _orders_by_day(c: psycopg.Connection, w: Window) -> dict:
    """Order and money totals per order date, and for the whole range under key None."""
    rows = c.execute(_sql("""
        select case when grouping(order_date) = 0 then order_date end as order_date,
               coalesce(sum(orders), 0)::int as total_orders,
               coalesce(sum(paid_orders), 0)::int as paid_orders,
               coalesce(sum(captured_amount), 0) as total_revenue,
               {methods},
               coalesce(sum(refunded_amount), 0) as refund_amount,
               coalesce(sum(refund_count), 0)::int as refund_count
        from {rows}
        group by grouping sets ((order_date), ())
    """, rows=_order_rows(w), methods=sql.SQL(", ").join(
        sql.SQL("coalesce(sum({}), 0) as {}").format(
            sql.Identifier(f"captured_{m}_amount"), sql.Identifier(f"{m}_revenue")) for m in PAYMENT_METHODS)),
        w.params()).fetchall()
    return {row["order_date"]: row for row in rows}


def _item_sales(c: psycopg.Connection, w: Window, *, paid_only: bool) -> tuple[list[dict], list[dict]]:
    """Item sales (line totals) by service category and by service, largest first,
    over the range's orders (with `paid_only`, the orders with a captured payment)."""
    rows = c.execute(_sql("""
        select service_category_name as category, service_name as service,
               is_category_total as per_category,
               coalesce(sum(item_sales), 0) as item_sales,
               coalesce(sum(quantity), 0)::int as quantity,
               coalesce(sum(orders), 0)::int as orders
        from {rows}
        where {paid}
        group by is_category_total, service_category_name, service_name
        order by item_sales desc, category, service
    """, rows=_item_rows(w), paid=sql.SQL("is_paid" if paid_only else "true")), w.params()).fetchall()
    categories = [{key: r[key] for key in ("category", "item_sales", "quantity", "orders")}
                  for r in rows if r["per_category"]]
    services = [{key: r[key] for key in ("service", "category", "item_sales", "quantity", "orders")}
                for r in rows if not r["per_category"]]
    return categories, services


def partner_totals(c: psycopg.Connection, w: Window) -> list[dict]:
    """Each partner with orders in the range: its sums over the range and the rates
    of those sums (the definitions of docs/metrics.md applied to the range)."""
    # Sum per partner first, then name the partners: hashing two text columns for
    # every (partner, date) row made this 2.6x slower.
    rows = c.execute(_sql("""
        with totals as (
            select m.partner_id,
                   sum(m.orders_received)::int as orders_received,
                   sum(m.orders_accepted)::int as orders_accepted,
                   sum(m.orders_completed)::int as orders_completed,
                   sum(m.orders_rejected)::int as orders_rejected,
                   sum(m.revenue) as revenue,
                   round(sum(m.average_rating * m.rating_count) / nullif(sum(m.rating_count), 0), 2)
                       as average_rating,
                   sum(m.rating_count)::int as rating_count
            from {a}.partner_performance_metrics as m
            where m.date between %(start)s and %(end)s {and_partner}
            group by m.partner_id
        )
        select totals.partner_id, p.business_name, p.city, orders_received, orders_accepted, orders_completed,
               orders_rejected, revenue, average_rating, rating_count
        from totals
        left join {a}.dim_partners as p on p.partner_id = totals.partner_id
    """, and_partner=_partner_scope(w, "m", "partner_id")), w.params()).fetchall()
    for row in rows:
        row["partner_id"] = str(row["partner_id"])
        row["acceptance_rate"] = rate(row["orders_accepted"], row["orders_received"])
        row["completion_rate"] = rate(row["orders_completed"], row["orders_accepted"])
        row["rejection_rate"] = rate(row["orders_rejected"], row["orders_received"])
    return rows


def top_customers(c: psycopg.Connection, w: Window, *, unmasked: bool = False) -> list[dict]:
    """The customers of the population (see customers()) with the largest lifetime
    value. Name and email are masked (dim_customers) unless `unmasked`, which reads
    the restricted contacts model (only for report schedules allowed to show PII)."""
    contacts = (_sql("left join {r}.customer_contacts as d on d.user_id = c.user_id",
                     r=sql.Identifier(settings_module.load().restricted_schema)) if unmasked else
                _sql("left join {a}.dim_customers as d on d.user_id = c.user_id"))
    names = sql.SQL("d.full_name as customer, d.email" if unmasked else "d.masked_name as customer, d.masked_email as email")
    return c.execute(_sql("""
        select {names}, c.lifetime_value, c.total_orders, c.customer_segment as segment
        from {a}.customer_analytics as c
        {contacts}
        where {population}
        order by c.lifetime_value desc, c.user_id
        limit %(top)s
    """, names=names, contacts=contacts, population=_customer_population(w)), {**w.params(), "top": TOP_N}).fetchall()


def _segment_counts(c: psycopg.Connection, w: Window) -> dict[str, int]:
    counts = dict.fromkeys(SEGMENTS, 0)
    for row in c.execute(_sql("select customer_segment, sum(customers)::int as n from {rows} group by customer_segment",
                              rows=_customer_rows(w)), w.params()):
        counts[row["customer_segment"]] = row["n"]
    return counts


def _every_day(w: Window, rows: dict, empty: dict) -> Iterator[tuple[dt.date, dict]]:
    """Every date of the range with its row, or `empty` (trends have no holes)."""
    for day in w.dates():
        yield day, rows.get(day, empty)


def _connection(conn: psycopg.Connection | None):
    return database.borrowed(conn, row_factory=dict_row)


SCHEMAS_DIR = Path(__file__).parent / "schemas"


def json_schema(payload_type: str) -> dict:
    """The JSON Schema (draft 2020-12) that documents the payload of a type."""
    return json.loads((SCHEMAS_DIR / f"{payload_type}.schema.json").read_text())
