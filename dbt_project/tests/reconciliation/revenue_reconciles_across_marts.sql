{{ config(meta={'dagster': {'ref': {'name': 'daily_revenue_summaries'}}}) }}
-- Shown in Dagster as an asset check on daily_revenue_summaries (it reads several marts).
-- Cross-check of docs/metrics.md: Σ daily total_revenue = Σ customer total_spent = Σ captured
-- payments of all orders; Σ partner revenue = Σ captured payments of orders that
-- have a partner. Returns a row (a failure) when any of them differ.
with captured as (
    select
        coalesce(sum(payments.amount), 0) as all_orders,
        coalesce(sum(payments.amount) filter (where orders.partner_id is not null), 0) as partnered_orders
    from {{ ref('stg_ops__payments') }} as payments
    inner join {{ ref('stg_ops__orders') }} as orders on orders.order_id = payments.order_id
    where payments.status = 'completed' and not payments.is_excluded
),

totals as (
    select
        (select coalesce(sum(total_revenue), 0) from {{ ref('daily_revenue_summaries') }}) as daily,
        (select coalesce(sum(revenue), 0) from {{ ref('partner_performance_metrics') }}) as partners,
        (select coalesce(sum(total_spent), 0) from {{ ref('customer_analytics') }}) as customers
)

select *
from totals, captured
where daily <> all_orders or customers <> all_orders or partners <> partnered_orders
