"""The analytics query API: the original system's dashboard endpoints
(dashboard, revenue, orders, partners, customers) as functions over the marts.

    from laundry_analytics import analytics
    analytics.revenue(date(2026, 1, 1), date(2026, 1, 31), partner_id=None)
    analytics.payload("orders", "2026-01-01", "2026-01-31", service_category="Shoe Care")

Every payload is computed from the marts (`fct_orders`, `fct_order_items`, their
daily aggregates `agg_orders_daily`, `agg_item_sales_daily` and `agg_customers_daily`,
`partner_performance_metrics`, `customer_analytics`, `dim_partners`,
`dim_customers`), never from `ops`: each metric keeps its one definition in dbt,
and this package only adds it up over a date range. A range over all partners
adds up the daily aggregates, so its cost grows with the number of days, not
orders; a filtered range reads the range's rows of the facts (indexed by date
and partner). `analytics_cache` is filled by calling these same functions
(laundry_analytics.cache).

Conventions of every payload (JSON Schemas in laundry_analytics/schemas/):
- the range is `start`..`end`, both inclusive, on order dates (local dates in the
  business time zone); the default is the last 30 days up to today;
- a filter applies to every figure of the payload (windows): `partner_id` (any
  payload), `service_category` (revenue, orders: the orders with an item of that
  category; item figures only that category's lines), `city` (partners: the
  partners of that city and their orders); `period` echoes them;
- money is exact to the cent; rates are percentages with 2 decimals, rounded half
  away from zero, and null when their denominator is 0 (docs/metrics.md);
- averages are over the orders where the value is known, 2 decimals, null if none;
- customer figures are as of `as_of_date` (segments and churn risk move with it,
  not with the range): for all partners the date of the last agg_customers_daily
  build, for one partner today (customer_analytics is a view).

`completeness()` says which of a range's figures can still change (days with
open orders, days not over yet), for the same filters as a payload.

The package, one module per part: `payloads/` (one module per payload type, each
with its PayloadType record), `registry` (the types), `windows` (the range and
its filters), `rows` (the rows a window's figures sum), `aggregates` (figures
several payloads share), `arithmetic` (rates, means, JSON), `completeness`.
"""

from laundry_analytics.analytics.aggregates import customers_as_of, partner_totals, top_customers
from laundry_analytics.analytics.arithmetic import rate, to_jsonable
from laundry_analytics.analytics.completeness import completeness
from laundry_analytics.analytics.payloads.customers import customers
from laundry_analytics.analytics.payloads.dashboard import dashboard
from laundry_analytics.analytics.payloads.orders import orders
from laundry_analytics.analytics.payloads.partners import MIN_ORDERS_TO_RANK_PARTNER, partners
from laundry_analytics.analytics.payloads.revenue import revenue
from laundry_analytics.analytics.registry import json_schema, payload, payload_types, report_types
from laundry_analytics.analytics.rows import DAY_NAMES, DURATIONS, ORDER_STATUSES, SEGMENTS, TOP_N
from laundry_analytics.analytics.windows import DEFAULT_RANGE_DAYS, Window, make_window, today

__all__ = [
    "DAY_NAMES",
    "DEFAULT_RANGE_DAYS",
    "DURATIONS",
    "MIN_ORDERS_TO_RANK_PARTNER",
    "ORDER_STATUSES",
    "SEGMENTS",
    "TOP_N",
    "Window",
    "completeness",
    "customers",
    "customers_as_of",
    "dashboard",
    "json_schema",
    "make_window",
    "orders",
    "partner_totals",
    "partners",
    "payload",
    "payload_types",
    "rate",
    "report_types",
    "revenue",
    "today",
    "to_jsonable",
    "top_customers",
]
