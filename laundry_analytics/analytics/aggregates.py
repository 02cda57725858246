"""Figures that several payloads share, each one query over a window's rows
(laundry_analytics.analytics.rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from laundry_analytics import database
from laundry_analytics import settings as settings_module
from laundry_analytics.analytics.arithmetic import rate, rate_sql
from laundry_analytics.analytics.rows import (
    SEGMENTS,
    TOP_N,
    customer_population,
    customer_rows,
    item_rows,
    order_rows,
    partner_scope,
)
from laundry_analytics.analytics.windows import Window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.ops_schema import PAYMENT_METHODS


def connection(conn: psycopg.Connection | None) -> AbstractContextManager[psycopg.Connection]:
    """The caller's connection or a new one, returning rows as dicts, without
    server-side prepared statements while borrowed. psycopg prepares a query from
    its fifth execution on a connection, and PostgreSQL then plans a prepared
    query for any parameter after five more: on a long-lived connection (an
    analyst's session, a benchmark) the customers payload's population query got
    a plan for any date range and went from ~50 ms to ~1.9 s at 10M orders. A
    payload runs a handful of queries, so planning each one for its own range
    costs a few milliseconds."""
    return database.borrowed(conn, row_factory=dict_row, prepare_threshold=None)


def every_day(w: Window, rows: dict, empty: dict) -> Iterator[tuple[dt.date, dict]]:
    """Every date of the range with its row, or `empty` (trends have no holes)."""
    for day in w.dates():
        yield day, rows.get(day, empty)


def orders_by_day(c: psycopg.Connection, w: Window) -> dict:
    """Order and money totals per order date, and for the whole range under key None."""
    rows = c.execute(
        compose(
            """
        select case when grouping(order_date) = 0 then order_date end as order_date,
               coalesce(sum(orders), 0)::int as total_orders,
               coalesce(sum(paid_orders), 0)::int as paid_orders,
               coalesce(sum(captured_amount), 0) as total_revenue,
               {methods},
               coalesce(sum(refunded_amount), 0) as refund_amount,
               coalesce(sum(refund_count), 0)::int as refund_count
        from {rows}
        group by grouping sets ((order_date), ())
    """,
            rows=order_rows(w),
            methods=sql.SQL(", ").join(
                sql.SQL("coalesce(sum({}), 0) as {}").format(
                    sql.Identifier(f"captured_{m}_amount"), sql.Identifier(f"{m}_revenue")
                )
                for m in PAYMENT_METHODS
            ),
        ),
        w.params(),
    ).fetchall()
    return {row["order_date"]: row for row in rows}


def item_sales(c: psycopg.Connection, w: Window, *, paid_only: bool) -> tuple[list[dict], list[dict]]:
    """Item sales (line totals) by service category and by service, largest first,
    over the range's orders (with `paid_only`, the orders with a captured payment)."""
    rows = c.execute(
        compose(
            """
        select service_category_name as category, service_name as service,
               is_category_total as per_category,
               coalesce(sum(item_sales), 0) as item_sales,
               coalesce(sum(quantity), 0)::int as quantity,
               coalesce(sum(orders), 0)::int as orders
        from {rows}
        where {paid}
        group by is_category_total, service_category_name, service_name
        order by item_sales desc, category, service
    """,
            rows=item_rows(w),
            paid=sql.SQL("is_paid" if paid_only else "true"),
        ),
        w.params(),
    ).fetchall()
    categories = [
        {key: r[key] for key in ("category", "item_sales", "quantity", "orders")} for r in rows if r["per_category"]
    ]
    services = [
        {key: r[key] for key in ("service", "category", "item_sales", "quantity", "orders")}
        for r in rows
        if not r["per_category"]
    ]
    return categories, services


#: Each partner's sums over a window's range, as the CTE `totals`: the week rows of
#: agg_partner_periods for the range's whole weeks and its day rows for the other
#: days (whole_weeks), each range an index-only scan of the covering index (one OR
#: of the three made a bitmap scan of the table's pages: 63 ms instead of 36 ms for
#: 30 days at 10M orders).
_PARTNER_TOTALS = """
    totals as (
        select m.partner_id,
               sum(m.orders_received)::int as orders_received,
               sum(m.orders_accepted)::int as orders_accepted,
               sum(m.orders_completed)::int as orders_completed,
               sum(m.orders_rejected)::int as orders_rejected,
               sum(m.revenue) as revenue,
               round(sum(m.rating_sum) / nullif(sum(m.rated_orders), 0), 2) as average_rating,
               sum(m.rating_count)::int as rating_count
        from (
            select * from {a}.agg_partner_periods
            where period = 'week' and period_start between %(first_week)s and %(last_week)s
            union all
            select * from {a}.agg_partner_periods
            where period = 'day' and period_start between %(start)s and %(head_end)s
            union all
            select * from {a}.agg_partner_periods
            where period = 'day' and period_start between %(tail_start)s and %(end)s
        ) as m
        where true {and_partner}
        group by m.partner_id
    )"""


def _partner_totals_cte(w: Window) -> sql.Composable:
    return compose(_PARTNER_TOTALS, and_partner=partner_scope(w, "m", "partner_id"))


def _partner_params(w: Window, **more) -> dict:
    return {**w.params(), **whole_weeks(w.start, w.end), **more}


def _with_rates(row: dict) -> dict:
    row["partner_id"] = str(row["partner_id"])
    row["acceptance_rate"] = rate(row["orders_accepted"], row["orders_received"])
    row["completion_rate"] = rate(row["orders_completed"], row["orders_accepted"])
    row["rejection_rate"] = rate(row["orders_rejected"], row["orders_received"])
    return row


#: The columns of a partner's totals row, named (dim_partners) and with its sums.
_PARTNER_COLUMNS = """totals.partner_id, p.business_name, p.city, orders_received, orders_accepted,
    orders_completed, orders_rejected, revenue, average_rating, rating_count"""


def partner_totals(c: psycopg.Connection, w: Window) -> list[dict]:
    """Each partner with orders in the range: its sums over the range and the rates
    of those sums (the definitions of docs/metrics.md applied to the range), its
    average rating that of all its reviews in the range (agg_partner_periods)."""
    # Sum per partner first, then name the partners: hashing two text columns for
    # every (partner, period) row made this 2.6x slower.
    rows = c.execute(
        compose(
            "with {totals} select {columns} from totals left join {a}.dim_partners as p on p.partner_id = totals.partner_id",
            totals=_partner_totals_cte(w),
            columns=sql.SQL(_PARTNER_COLUMNS),
        ),
        _partner_params(w),
    ).fetchall()
    return [_with_rates(row) for row in rows]


@dataclass(frozen=True)
class PartnerRanking:
    """What the dashboard and the partners payload show of the range's partners,
    computed in one query without sending every partner's row to Python."""

    partners_with_orders: int
    orders_received: int
    revenue: Decimal
    #: The mean over partners of each partner's rate over the range (undefined rates left out).
    average_acceptance_rate: Decimal | None
    average_completion_rate: Decimal | None
    #: Largest revenue first (ties by partner id).
    by_revenue: list[dict]
    #: Among partners with at least `min_orders` orders: highest / lowest completion
    #: rate first (undefined counts as 0), then highest / lowest revenue.
    top_performers: list[dict]
    low_performers: list[dict]


def partner_ranking(c: psycopg.Connection, w: Window, *, top: int, min_orders: int) -> PartnerRanking:
    """The range's partners counted and summed, their mean rates, the `top` by
    revenue and the `top` best and worst performers (partner_totals' rows)."""
    completion = rate_sql("orders_completed", "orders_accepted")
    acceptance = rate_sql("orders_accepted", "orders_received")
    # Each list is its own ORDER BY ... LIMIT over the summed partners (a top-N heap
    # sort of `top` rows) rather than a row_number() over every partner: three full
    # sorts of all partners took about half of this query.
    orders = {
        "revenue_rank": sql.SQL("revenue desc, partner_id"),
        "top_rank": compose(
            "orders_received >= %(min_orders)s desc, coalesce({completion}, 0) desc, revenue desc, partner_id",
            completion=completion,
        ),
        "low_rank": compose(
            "orders_received >= %(min_orders)s desc, coalesce({completion}, 0), revenue, partner_id",
            completion=completion,
        ),
    }
    lists = sql.SQL(",\n").join(
        compose(
            """{listed} as (
            select partner_id, row_number() over (order by {order}) as {rank}
            from (select * from totals order by {order} limit %(top)s) as first_rows
        )""",
            listed=sql.Identifier(f"{rank}_list"),
            rank=sql.Identifier(rank),
            order=order,
        )
        for rank, order in orders.items()
    )
    rows = c.execute(
        compose(
            """
        with {totals},
        summary as (
            select count(*) as all_partners, sum(orders_received) as all_orders, sum(revenue) as all_revenue,
                   round(avg({acceptance}), 2) as mean_acceptance, round(avg({completion}), 2) as mean_completion
            from totals
        ),
        {lists}
        select {columns}, all_partners, all_orders, all_revenue, mean_acceptance, mean_completion,
               revenue_rank, top_rank, low_rank
        from totals
        left join revenue_rank_list using (partner_id)
        left join top_rank_list using (partner_id)
        left join low_rank_list using (partner_id)
        cross join summary
        left join {a}.dim_partners as p on p.partner_id = totals.partner_id
        where revenue_rank is not null or top_rank is not null or low_rank is not null
    """,
            totals=_partner_totals_cte(w),
            lists=lists,
            columns=sql.SQL(_PARTNER_COLUMNS),
            acceptance=acceptance,
            completion=completion,
        ),
        _partner_params(w, top=top, min_orders=min_orders),
    ).fetchall()
    if not rows:
        return PartnerRanking(0, 0, Decimal("0.00"), None, None, [], [], [])
    first = rows[0]
    ranks = ("revenue_rank", "top_rank", "low_rank")
    summary = ("all_partners", "all_orders", "all_revenue", "mean_acceptance", "mean_completion")
    partners = [
        ({rank: row[rank] for rank in ranks}, _with_rates({k: v for k, v in row.items() if k not in ranks + summary}))
        for row in rows
    ]

    def listed(rank: str, rankable: bool) -> list[dict]:
        chosen = [
            (r[rank], p)
            for r, p in partners
            if r[rank] is not None and (not rankable or p["orders_received"] >= min_orders)
        ]
        return [p for _, p in sorted(chosen, key=lambda item: item[0])]

    return PartnerRanking(
        partners_with_orders=first["all_partners"],
        orders_received=int(first["all_orders"]),
        revenue=first["all_revenue"],
        average_acceptance_rate=first["mean_acceptance"],
        average_completion_rate=first["mean_completion"],
        by_revenue=listed("revenue_rank", rankable=False),
        top_performers=listed("top_rank", rankable=True),
        low_performers=listed("low_rank", rankable=True),
    )


def whole_weeks(start: dt.date, end: dt.date) -> dict[str, dt.date]:
    """How a range splits into the ISO weeks (Monday to Sunday) wholly inside it,
    first_week..last_week (their Mondays), and the days before (start..head_end) and
    after them (tail_start..end). Without a whole week every day is a head day, and
    the week and tail ranges are empty (their start after their end)."""
    first_week = start + dt.timedelta(days=-start.weekday() % 7)
    last_week = end - dt.timedelta(days=(end.weekday() + 1) % 7 + 6)
    if first_week > last_week:
        after = end + dt.timedelta(days=1)
        return {"first_week": after, "last_week": end, "head_end": end, "tail_start": after}
    return {
        "first_week": first_week,
        "last_week": last_week,
        "head_end": first_week - dt.timedelta(days=1),
        "tail_start": last_week + dt.timedelta(days=7),
    }


def top_customers(c: psycopg.Connection, w: Window, *, unmasked: bool = False) -> list[dict]:
    """The customers of the population (see rows.customer_population) with the
    largest lifetime value. Name and email are masked (dim_customers) unless
    `unmasked`, which reads the restricted contacts model (only for report
    schedules allowed to show PII)."""
    contacts = (
        compose(
            "left join {r}.customer_contacts as d on d.user_id = c.user_id",
            r=sql.Identifier(settings_module.load().restricted_schema),
        )
        if unmasked
        else compose("left join {a}.dim_customers as d on d.user_id = c.user_id")
    )
    names = sql.SQL(
        "d.full_name as customer, d.email" if unmasked else "d.masked_name as customer, d.masked_email as email"
    )
    return c.execute(
        compose(
            """
        select {names}, c.lifetime_value, c.total_orders, c.customer_segment as segment
        from {a}.customer_analytics as c
        {contacts}
        where {population}
        order by c.lifetime_value desc, c.user_id
        limit %(top)s
    """,
            names=names,
            contacts=contacts,
            population=customer_population(w),
        ),
        {**w.params(), "top": TOP_N},
    ).fetchall()


def segment_counts(c: psycopg.Connection, w: Window) -> dict[str, int]:
    """Customers of the window's population per segment (every segment, 0 when none)."""
    counts = dict.fromkeys(SEGMENTS, 0)
    query = compose(
        "select customer_segment, sum(customers)::int as n from {rows} group by customer_segment", rows=customer_rows(w)
    )
    for row in c.execute(query, w.params()):
        counts[row["customer_segment"]] = row["n"]
    return counts


def customers_as_of(c: psycopg.Connection, w: Window) -> dt.date | None:
    """The date the window's segments, lifetime values and churn risk describe: for
    all partners that of the last agg_customers_daily build (the counts come from
    it), for one partner today's (customer_analytics, a view, computes them when
    read; see customer_rows)."""
    source = "customer_analytics" if w.partner_id else "agg_customers_daily"
    row = (
        c.cursor(row_factory=dict_row)
        .execute(compose("select as_of_date as as_of from {a}.{source} limit 1", source=sql.Identifier(source)))
        .fetchone()
    )
    return row["as_of"] if row else None
