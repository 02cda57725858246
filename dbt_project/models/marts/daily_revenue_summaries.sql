{{
    config(
        materialized='incremental',
        tags=['daily_partitioned'],
        unique_key='date',
        incremental_strategy='delete+insert',
        meta={'delta_of': 'fct_orders'},
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['date'], 'unique': true}],
    )
}}

-- One row per order date from the first to the latest order date, zeros on days
-- without orders (docs/metrics.md, daily_revenue_summaries). Every figure is attributed
-- to the order date of its order.
-- Sums and counts are added up from agg_orders_daily (a few hundred rows a day, kept
-- by deltas), not from the orders. New and returning customers are recounted only on
-- the dates whose set of customers can have moved: the dates of orders that are new
-- since this model's last run (an order never changes date or customer), the next
-- order date of a customer whose first order date moved earlier, and days not yet
-- present; a date touched only by late changes to its orders (captures, refunds,
-- cancellations) keeps its counts. The fct_orders changes since the last run come
-- from fct_orders_changes (macros/deltas.sql). With vars partition_start /
-- partition_end (a Dagster partition or backfill range), it rebuilds exactly the
-- dates of that window instead.

{%- set since = deltas_since(ref('fct_orders')) %}
{%- set window = partition_window() %}

with

orders as not materialized (
    select * from {{ ref('fct_orders') }}
),

calendar as (
    select day::date as date
    from generate_series(
        (select min(order_date) from orders), (select max(order_date) from orders), interval '1 day'
    ) as day
),

first_order_dates as (
    -- Every customer's first order date, kept up to date by the customer summary.
    select customer_id, first_order_date from {{ ref('int_customer_order_summary') }}
),

{% if window is not none %}
dates_to_build as (
    -- A partition window (Dagster): exactly its dates that a full build would hold.
    select date from calendar where date >= {{ window[0] }} and date < {{ window[1] }}
),

dates_to_recount as (
    select date from dates_to_build
),
{% elif since is not none %}
changes as (
    select * from {{ delta_rows(ref('fct_orders'), since) }} as changes
),

new_orders as (
    -- Orders that entered fct_orders since the last run (one more new version than old).
    select customer_id, order_date
    from changes
    group by order_id, customer_id, order_date
    having sum(change_sign) <> 0
),

next_dates as (
    -- A customer whose new order is their first order date: the date that was first
    -- before (now their second order date) turns from new to returning.
    select next_date.order_date as date
    from (select distinct customer_id, order_date from new_orders) as customer_new_dates
    inner join first_order_dates
        on
            first_order_dates.customer_id = customer_new_dates.customer_id
            and first_order_dates.first_order_date = customer_new_dates.order_date
    cross join
        lateral (
            select min(later.order_date) as order_date
            from orders as later
            where
                later.customer_id = customer_new_dates.customer_id and later.order_date > customer_new_dates.order_date
        ) as next_date
    where next_date.order_date is not null
),

missing_dates as (
    select date from calendar where not exists (select 1 from {{ this }} as built where built.date = calendar.date)
),

dates_to_recount as (
    select order_date as date from new_orders
    union
    select date from next_dates
    union
    select date from missing_dates
),

dates_to_build as (
    select order_date as date from changes
    union
    select date from dates_to_recount
),
{% else %}
dates_to_build as (
    select date from calendar
),

dates_to_recount as (
    select date from dates_to_build
),
{% endif %}

sums as (
    select
        order_date as date,
        sum(orders) as total_orders,
        sum(completed_orders) as completed_orders,
        sum(cancelled_orders) as cancelled_orders,
        sum(open_orders) as pending_orders,
        sum(captured_amount) as total_revenue,
        {%- for method in var('payment_methods') %}
        sum(captured_{{ method }}_amount) as {{ method }}_revenue,
        {%- endfor %}
        sum(paid_orders) as paid_orders,
        sum(refunded_amount) as refund_amount,
        sum(refund_count) as refund_count
    from {{ ref('agg_orders_daily') }}
    where order_date in (select date from dates_to_build)
    group by order_date
),

customer_counts as (
    -- Distinct customers per date (index only on fct_orders (order_date, customer_id)),
    -- new when the date is their first order date.
    select
        per_customer.order_date as date,
        count(*) filter (where first_order_dates.first_order_date = per_customer.order_date) as new_customers,
        count(*) filter (where first_order_dates.first_order_date < per_customer.order_date) as returning_customers
    from (
        select distinct order_date, customer_id
        from orders
        where order_date in (select date from dates_to_recount)
    ) as per_customer
    inner join first_order_dates on first_order_dates.customer_id = per_customer.customer_id
    group by per_customer.order_date
    {%- if window is none and since is not none %}
    union all
    -- Dates whose customers did not move keep their counts.
    select built.date, built.new_customers, built.returning_customers
    from {{ this }} as built
    where
        built.date in (select date from dates_to_build)
        and built.date not in (select date from dates_to_recount)
    {%- endif %}
),

per_date as (
    select
        sums.*,
        customer_counts.new_customers,
        customer_counts.returning_customers
    from sums
    left join customer_counts on customer_counts.date = sums.date
),

final as (
    select
        dates_to_build.date,
        coalesce(total_orders, 0)::int as total_orders,
        coalesce(completed_orders, 0)::int as completed_orders,
        coalesce(cancelled_orders, 0)::int as cancelled_orders,
        coalesce(pending_orders, 0)::int as pending_orders,
        coalesce(total_revenue, 0)::numeric(12, 2) as total_revenue,
        coalesce(cash_revenue, 0)::numeric(12, 2) as cash_revenue,
        coalesce(card_revenue, 0)::numeric(12, 2) as card_revenue,
        coalesce(wallet_revenue, 0)::numeric(12, 2) as wallet_revenue,
        coalesce(online_revenue, 0)::numeric(12, 2) as online_revenue,
        coalesce(paid_orders, 0)::int as paid_orders,
        round(total_revenue / nullif(paid_orders, 0), 2)::numeric(12, 2) as average_order_value,
        coalesce(refund_amount, 0)::numeric(12, 2) as refund_amount,
        coalesce(refund_count, 0)::int as refund_count,
        (coalesce(total_revenue, 0) - coalesce(refund_amount, 0))::numeric(12, 2) as net_revenue,
        {{ rate('cancelled_orders', 'total_orders') }} as cancellation_rate,
        coalesce(new_customers, 0)::int as new_customers,
        coalesce(returning_customers, 0)::int as returning_customers,
        '{{ run_started_at }}'::timestamptz as refreshed_at,
        {{ changes_applied_through() }} as changes_applied_through
    from dates_to_build
    left join per_date on per_date.date = dates_to_build.date
)

select * from final
