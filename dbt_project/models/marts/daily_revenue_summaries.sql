{{
    config(
        materialized='incremental',
        tags=['daily_partitioned'],
        unique_key='date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['date'], 'unique': true}],
    )
}}

-- One row per order date from the first to the latest order date, zeros on days
-- without orders (docs/metrics.md, daily_revenue_summaries). Every figure is attributed
-- to the order date of its order.
-- Incremental: rebuilds the dates of fct_orders rows refreshed since this model's
-- last run, plus the first two order dates of their customers (new vs returning
-- can move), plus days not yet present between the first and latest order date.
-- With vars partition_start / partition_end (a Dagster partition or backfill
-- range), it rebuilds exactly the dates of that window instead.

with

orders as (
    select * from {{ ref('fct_orders') }}
),

calendar as (
    select day::date as date
    from generate_series(
        (select min(order_date) from orders), (select max(order_date) from orders), interval '1 day'
    ) as day
),

{% set window = partition_window() %}
{% if window is not none %}
dates_to_build as (
    -- A partition window (Dagster): exactly its dates that a full build would hold.
    select date from calendar where date >= {{ window[0] }} and date < {{ window[1] }}
),
{% elif is_incremental() %}
refreshed_orders as (
    select customer_id, order_date
    from orders
    where {{ refreshed_since_last_run(applied_column='changes_applied_through') }}
),

customers_first_dates as (
    select order_date
    from (
        select order_date, dense_rank() over (partition by customer_id order by order_date) as date_rank
        from orders
        where customer_id in (select customer_id from refreshed_orders)
    ) as ranked
    where date_rank <= 2
),

dates_to_build as (
    select order_date as date from refreshed_orders
    union
    select order_date from customers_first_dates
    union
    select date from calendar where not exists (select 1 from {{ this }} as built where built.date = calendar.date)
),
{% else %}
dates_to_build as (
    select date from calendar
),
{% endif %}

orders_to_sum as (
    select * from orders where order_date in (select date from dates_to_build)
),

first_order_dates as (
    -- Every customer's first order date, kept up to date by the customer summary.
    select customer_id, first_order_date from {{ ref('int_customer_order_summary') }}
),

per_date as (
    select
        orders_to_sum.order_date as date,
        count(*) as total_orders,
        count(*) filter (where is_completed) as completed_orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_open) as pending_orders,
        sum(captured_amount) as total_revenue,
        sum(captured_cash_amount) as cash_revenue,
        sum(captured_card_amount) as card_revenue,
        sum(captured_wallet_amount) as wallet_revenue,
        sum(captured_online_amount) as online_revenue,
        count(*) filter (where captured_payment_count > 0) as paid_orders,
        sum(refunded_amount) as refund_amount,
        sum(refund_count) as refund_count,
        count(distinct orders_to_sum.customer_id) filter (where first_order_date = order_date) as new_customers,
        count(distinct orders_to_sum.customer_id) filter (where first_order_date < order_date) as returning_customers
    from orders_to_sum
    inner join first_order_dates on first_order_dates.customer_id = orders_to_sum.customer_id
    group by orders_to_sum.order_date
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
