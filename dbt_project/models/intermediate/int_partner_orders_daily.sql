{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'fct_orders'},
        delta_keys=['partner_id', 'order_date'],
        delta_count='orders_received',
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['partner_id', 'order_date'], 'unique': true}],
    )
}}

{% set durations = ['acceptance', 'pickup', 'processing', 'delivery', 'total'] %}
{% set since = deltas_since(ref('fct_orders')) %}

-- Sums and counts of fct_orders per (partner, order date), the orders with a partner
-- only: what partner_performance_metrics divides into its averages and rates. Only
-- sums and counts (averages kept as sum and count), so it is maintained by deltas
-- (macros/deltas.sql): each changed order's old version subtracted, its new one
-- added, and the pairs left with no order dropped.

with

orders_to_sum as (
    select * from {{ delta_rows(ref('fct_orders'), since) }} as orders
    where partner_id is not null
),

final as (
    select
        partner_id,
        order_date,
        {{- partner_order_sums(['orders_received', 'orders_accepted', 'orders_rejected', 'orders_completed',
            'orders_cancelled', 'revenue']) }}
        {% for name in durations %}
        coalesce(sum(change_sign * {{ name }}_minutes), 0)::numeric(22, 8) as {{ name }}_minutes_sum,
        coalesce(sum(change_sign) filter (where {{ name }}_minutes is not null), 0)::int as {{ name }}_minutes_count,
        {% endfor %}
        {{- partner_order_sums(['rating_sum', 'rated_orders', 'rating_count', 'issues_reported', 'items_damaged',
            'items_lost']) }}
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from orders_to_sum
    group by partner_id, order_date
)

select * from final
