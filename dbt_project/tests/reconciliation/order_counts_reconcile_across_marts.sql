{{ config(meta={'dagster': {'ref': {'name': 'daily_revenue_summaries'}}}) }}
-- Shown in Dagster as an asset check on daily_revenue_summaries (it reads several marts).
-- Cross-check of docs/metrics.md: Σ daily total_orders = Σ customer total_orders = number of
-- orders (and the partner mart counts every order that has a partner).
with counts as (
    select
        (select count(*) from {{ ref('stg_ops__orders') }}) as orders,
        (select count(*) from {{ ref('stg_ops__orders') }} where partner_id is not null) as partnered_orders,
        (select coalesce(sum(total_orders), 0) from {{ ref('daily_revenue_summaries') }}) as daily,
        (select coalesce(sum(total_orders), 0) from {{ ref('customer_analytics') }}) as customers,
        (select coalesce(sum(orders_received), 0) from {{ ref('partner_performance_metrics') }}) as partners
)

select * from counts
where daily <> orders or customers <> orders or partners <> partnered_orders
