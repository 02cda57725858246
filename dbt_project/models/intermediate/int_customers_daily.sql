{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'fct_orders'},
        delta_keys=['order_date'],
        delta_count='customers',
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['order_date'], 'unique': true}],
    )
}}

{% set since = deltas_since(ref('fct_orders')) %}

-- Per order date: the distinct customers with an order that date, new (the date is
-- their first order date) or returning (their first order date is earlier), what
-- daily_revenue_summaries reports as new_customers and returning_customers.
-- Maintained by deltas (macros/deltas.sql) from the fct_orders changes since its
-- last run: the (customer, date) pairs whose number of orders changed; for each such
-- customer, whether they have an order on each of those dates now and had one
-- before, and their first order date now and before. A date's counts move by what
-- those customers count for now minus what they counted for before, so a run reads
-- the changed orders' customers, not the orders of the dates they fall on. A date
-- left with no customer is dropped.

with

orders as not materialized (
    select * from {{ ref('fct_orders') }}
),

first_order_dates as (
    -- Every customer's first order date, kept up to date by the customer summary.
    select customer_id, first_order_date from {{ ref('int_customer_order_summary') }}
),

{% if since is none %}
counts as (
    -- Distinct customers per date (index only on fct_orders (order_date, customer_id)).
    select
        per_customer.order_date,
        count(*) filter (where first_order_dates.first_order_date = per_customer.order_date) as new_customers,
        count(*) filter (where first_order_dates.first_order_date < per_customer.order_date) as returning_customers
    from (select distinct order_date, customer_id from orders) as per_customer
    inner join first_order_dates on first_order_dates.customer_id = per_customer.customer_id
    group by per_customer.order_date
),
{% else %}
moved as (
    -- (customer, date) pairs whose number of orders changed since the last run:
    -- orders that entered fct_orders (+1) or left it (-1).
    select customer_id, order_date, sum(change_sign) as net_orders
    from {{ delta_rows(ref('fct_orders'), since) }} as changes
    group by customer_id, order_date
    having sum(change_sign) <> 0
),

moved_presence as (
    -- Whether the customer has an order on that date now, and had one before
    -- (index only on fct_orders (order_date, customer_id)).
    select
        moved.customer_id,
        moved.order_date,
        now_orders.orders > 0 as present_now,
        now_orders.orders - moved.net_orders > 0 as present_before
    from moved
    cross join
        lateral (
            select count(*) as orders
            from orders
            where orders.order_date = moved.order_date and orders.customer_id = moved.customer_id
        ) as now_orders
),

per_customer as (
    select customer_id, min(order_date) filter (where present_before) as first_moved_date_before
    from moved_presence
    group by customer_id
),

moved_customers as (
    -- Each such customer's first order date now (from the customer summary) and
    -- before: the earliest of the dates they had an order on before, either a moved
    -- date or their earliest date without a moved order. That one is their first
    -- order date now unless the first order date itself moved; only then are their
    -- orders looked up.
    select
        per_customer.customer_id,
        first_order_dates.first_order_date as first_now,
        least(
            per_customer.first_moved_date_before,
            case
                when
                    not exists (
                        select 1 from moved
                        where
                            moved.customer_id = per_customer.customer_id
                            and moved.order_date = first_order_dates.first_order_date
                    )
                    then first_order_dates.first_order_date
                else (
                    select min(later.order_date)
                    from orders as later
                    where
                        later.customer_id = per_customer.customer_id
                        and later.order_date not in (
                            select moved.order_date from moved where moved.customer_id = per_customer.customer_id
                        )
                )
            end
        ) as first_before
    from per_customer
    left join first_order_dates on first_order_dates.customer_id = per_customer.customer_id
),

customer_dates as (
    -- Where a moved customer's counts can change: their moved dates, and their first
    -- order date before and now (a date without a moved order has orders before and
    -- now).
    select customer_id, order_date, present_now, present_before from moved_presence
    union
    select moved_customers.customer_id, firsts.order_date, true as present_now, true as present_before
    from moved_customers
    cross join lateral (values (moved_customers.first_now), (moved_customers.first_before)) as firsts (order_date)
    where
        firsts.order_date is not null
        and not exists (
            select 1 from moved
            where moved.customer_id = moved_customers.customer_id and moved.order_date = firsts.order_date
        )
),

counts as (
    -- Per date: the moved customers' contribution now minus before.
    select
        customer_dates.order_date,
        sum(
            (customer_dates.present_now and customer_dates.order_date = moved_customers.first_now)::int
            - (customer_dates.present_before and customer_dates.order_date = moved_customers.first_before)::int
        ) as new_customers,
        sum(
            (customer_dates.present_now and customer_dates.order_date > moved_customers.first_now)::int
            - (customer_dates.present_before and customer_dates.order_date > moved_customers.first_before)::int
        ) as returning_customers
    from customer_dates
    inner join moved_customers on moved_customers.customer_id = customer_dates.customer_id
    group by customer_dates.order_date
),
{% endif %}

final as (
    select
        order_date,
        (new_customers + returning_customers)::int as customers,
        new_customers::int as new_customers,
        returning_customers::int as returning_customers,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from counts
)

select * from final
