"""The rows whose sums are a window's figures, and the filters that pick them.

Over all partners a payload adds up the daily aggregates (agg_orders_daily,
agg_item_sales_daily, agg_customers_daily: ~100k rows a year, whatever the order
volume), so its cost follows the number of days. Under a filter it reads the
matching rows of the facts (fct_orders, fct_order_items, customer_analytics,
indexed by date, and by partner and date) in the same shape, each order or
customer counting 1, so both give the same figures.
"""

from __future__ import annotations

from psycopg import sql

from laundry_analytics.analytics.windows import Window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.ops_schema import PAYMENT_METHODS

ORDER_STATUSES = (
    "pending",
    "accepted",
    "rejected",
    "picked_up",
    "processing",
    "ready",
    "out_for_delivery",
    "completed",
    "cancelled",
    "unknown",
)
SEGMENTS = ("churned", "vip", "regular", "new", "occasional")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DURATIONS = ("acceptance", "pickup", "processing", "delivery", "total")
TOP_N = 10

# Each duration's Σ minutes and Σ known durations, under their own names: rows
# summed once per (status, hour, day of week) before the grouping sets add them up.
DURATION_SUMS = sql.SQL(", ").join(
    sql.SQL("sum({column}) as {column}").format(column=sql.Identifier(f"{name}_minutes_{part}"))
    for name in DURATIONS
    for part in ("sum", "count")
)

# Σ minutes / Σ known durations: exactly avg() over the orders (PostgreSQL's avg of
# numeric is that division), whether the rows are orders or daily aggregates.
DURATION_AVERAGES = sql.SQL(", ").join(
    sql.SQL("round(sum({total}) / nullif(sum({known}), 0), 2) as {alias}").format(
        total=sql.Identifier(f"{name}_minutes_sum"),
        known=sql.Identifier(f"{name}_minutes_count"),
        alias=sql.Identifier(f"avg_{name}_minutes"),
    )
    for name in DURATIONS
)


def partner_scope(w: Window, *column: str) -> sql.Composable:
    """`and ...` keeping the rows of the window's partner and city; `column` is the
    partner id column. Only the filters asked for: no "(%s is null or ...)" that
    would keep plans off the indexes."""
    column = sql.Identifier(*(column or ("partner_id",)))
    parts = []
    if w.partner_id:
        parts.append(sql.SQL("and {} = %(partner_id)s").format(column))
    if w.city:
        parts.append(
            compose("and {column} in (select partner_id from {a}.dim_partners where city = %(city)s)", column=column)
        )
    return sql.SQL(" ").join(parts)


def partner_filter(w: Window, column: str) -> sql.Composable:
    """A whole condition (`true and ...`) keeping the window's partners."""
    return sql.SQL("true {}").format(partner_scope(w, column))


def order_filter(w: Window) -> sql.Composable:
    """fct_orders rows of the window: its dates, partner and city, and under a
    service category the orders with at least one item of it (a semi-join on the
    range's items: the date index, then a hash of the category's order ids)."""
    category = sql.SQL("")
    if w.service_category:
        category = compose("""and order_id in (
            select order_id from {a}.fct_order_items
            where order_date between %(start)s and %(end)s and service_category_name = %(service_category)s)""")
    return sql.SQL("order_date between %(start)s and %(end)s {} {}").format(partner_scope(w), category)


def _item_filter(w: Window) -> sql.Composable:
    """fct_order_items rows of the window: under a service category, only its lines."""
    category = sql.SQL("and service_category_name = %(service_category)s" if w.service_category else "")
    return sql.SQL("order_date between %(start)s and %(end)s {} {}").format(partner_scope(w), category)


def customer_population(w: Window) -> sql.Composable:
    """Customers acquired by the end of the range; with a partner, those who had
    ordered from it by then. The table is aliased `c`."""
    base = sql.SQL("c.first_order_date <= %(end)s")
    if not w.partner_id:
        return base
    return compose(
        """{base} and exists (
        select 1 from {a}.fct_orders as f
        where f.customer_id = c.user_id and f.partner_id = %(partner_id)s and f.order_date <= %(end)s)""",
        base=base,
    )


def order_rows(w: Window) -> sql.Composable:
    """The rows whose sums are a window's order figures, aliased `order_rows`: for
    all orders the daily aggregates; under a filter (partner, city, category) the
    matching orders from fct_orders in the same shape, each order counting 1 and
    each known duration once."""
    if not w.is_filtered:
        return compose(
            "(select * from {a}.agg_orders_daily where order_date between %(start)s and %(end)s) as order_rows"
        )
    return compose(
        """(
        select order_date, order_day_of_week, status, order_hour, partner_id is not null as has_partner,
               1 as orders, is_completed::int as completed_orders, is_cancelled::int as cancelled_orders,
               is_open::int as open_orders, (captured_payment_count > 0)::int as paid_orders, captured_amount,
               {methods}, refunded_amount, refund_count, {durations}
        from {a}.fct_orders
        where {filter}
    ) as order_rows""",
        filter=order_filter(w),
        methods=sql.SQL(", ").join(sql.Identifier(f"captured_{m}_amount") for m in PAYMENT_METHODS),
        durations=sql.SQL(", ").join(
            sql.SQL("{minutes} as {total}, ({minutes} is not null)::int as {known}").format(
                minutes=sql.Identifier(f"{name}_minutes"),
                total=sql.Identifier(f"{name}_minutes_sum"),
                known=sql.Identifier(f"{name}_minutes_count"),
            )
            for name in DURATIONS
        ),
    )


def item_rows(w: Window) -> sql.Composable:
    """The rows whose sums are a window's item sales, aliased `item_rows`: for all
    partners the daily aggregates (agg_item_sales_daily, which has the category, so
    a category filter keeps its rows only); for one partner or city its items
    from fct_order_items grouped the same way (per order date and service, and per
    order date and category with is_category_total, counting an order once per
    category). Per order date because an order has one: the distinct orders of a
    day add up over days, and in the (partner_id, order_date, ...) index's order
    each day's groups are counted as they stream by (at 10M orders, the largest
    partner's year: 0.30 s, against 0.85 s for one sort of its 900k items)."""
    if not (w.partner_id or w.city):
        return compose(
            "(select * from {a}.agg_item_sales_daily where order_date between %(start)s and %(end)s "
            "{category}) as item_rows",
            category=sql.SQL("and service_category_name = %(service_category)s" if w.service_category else ""),
        )
    return compose(
        """(
        select order_date, is_paid, service_category_name, service_name,
               grouping(service_name) = 1 as is_category_total,
               sum(line_total) as item_sales, sum(quantity) as quantity, count(distinct order_id) as orders
        from {a}.fct_order_items
        where {filter}
        group by grouping sets (
            (order_date, is_paid, service_category_name, service_name), (order_date, is_paid, service_category_name)
        )
    ) as item_rows""",
        filter=_item_filter(w),
    )


def customer_rows(w: Window) -> sql.Composable:
    """The rows whose sums are the figures of a window's customer population (see
    customer_population), aliased `customer_rows`: for all partners the counts per
    first order date, segment and churn flag (agg_customers_daily); for one partner
    its customers from customer_analytics in the same shape, each counting 1."""
    if w.partner_id is None:
        return compose("(select * from {a}.agg_customers_daily where first_order_date <= %(end)s) as customer_rows")
    return compose(
        """(
        select first_order_date, customer_segment, is_at_churn_risk, 1 as customers, lifetime_value,
               (lifetime_value is not null)::int as lifetime_value_count
        from {a}.customer_analytics as c
        where {population}
    ) as customer_rows""",
        population=customer_population(w),
    )
