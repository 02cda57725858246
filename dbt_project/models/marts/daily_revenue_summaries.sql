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
-- Sums and counts are added up from agg_orders_daily (a few hundred rows a day), new
-- and returning customers read from int_customers_daily (one row a day); both are
-- kept by deltas, so of the orders only the first and last dates are read. A run
-- rebuilds the dates of the fct_orders changes since its last run
-- (fct_orders_changes, macros/deltas.sql), the dates whose customer counts moved
-- since then, and days not yet present. With vars partition_start / partition_end
-- (a Dagster partition or backfill range), it rebuilds exactly the dates of that
-- window instead.

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

customer_counts as (
    select order_date, new_customers, returning_customers, refreshed_at from {{ ref('int_customers_daily') }}
),

{% if window is not none %}
dates_to_build as (
    -- A partition window (Dagster): exactly its dates that a full build would hold.
    select date from calendar where date >= {{ window[0] }} and date < {{ window[1] }}
),
{% elif since is not none %}
dates_to_build as (
    select order_date as date from {{ delta_rows(ref('fct_orders'), since) }} as changes
    union
    -- A customer's first order date moving earlier turns a date without changed
    -- orders from new to returning.
    select order_date as date from customer_counts where refreshed_at > {{ since }}
    union
    select date from calendar where not exists (select 1 from {{ this }} as built where built.date = calendar.date)
),
{% else %}
dates_to_build as (
    select date from calendar
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

per_date as (
    select
        sums.*,
        customer_counts.new_customers,
        customer_counts.returning_customers
    from sums
    left join customer_counts on customer_counts.order_date = sums.date
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
