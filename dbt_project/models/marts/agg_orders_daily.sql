{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'fct_orders'},
        delta_keys=['order_date', 'order_day_of_week', 'status', 'order_hour', 'has_partner'],
        delta_count='orders',
        delta_nullable_keys=['status'],
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['order_date', 'status', 'order_hour', 'has_partner'], 'unique': true}],
    )
}}

{% set durations = ['acceptance', 'pickup', 'processing', 'delivery', 'total'] %}
{% set since = deltas_since(ref('fct_orders')) %}

-- Sums and counts of fct_orders per (order date, status, local hour, has a partner):
-- what the query API adds up for a range of all partners instead of scanning every
-- order of the range, so a year's payload reads ~100k small rows, not millions of
-- orders. Only sums and counts: a range's totals are their sums, and its averages
-- (sum of minutes / count of known durations) equal the averages over fct_orders.
-- Incremental by deltas (macros/deltas.sql): adds Σ change_sign × value of the
-- fct_orders changes since its last run (each changed order's old version
-- subtracted, its new one added) and drops the rows left with no order.

with

orders_to_sum as (
    select * from {{ delta_rows(ref('fct_orders'), since) }} as orders
),

final as (
    select
        order_date,
        order_day_of_week,
        status,
        order_hour,
        partner_id is not null as has_partner,
        sum(change_sign)::int as orders,
        coalesce(sum(change_sign) filter (where is_completed), 0)::int as completed_orders,
        coalesce(sum(change_sign) filter (where is_cancelled), 0)::int as cancelled_orders,
        coalesce(sum(change_sign) filter (where is_open), 0)::int as open_orders,
        coalesce(sum(change_sign) filter (where captured_payment_count > 0), 0)::int as paid_orders,
        sum(change_sign * captured_amount)::numeric(14, 2) as captured_amount,
        {% for method in var('payment_methods') %}
        sum(change_sign * captured_{{ method }}_amount)::numeric(14, 2) as captured_{{ method }}_amount,
        {% endfor %}
        sum(change_sign * refunded_amount)::numeric(14, 2) as refunded_amount,
        sum(change_sign * refund_count)::int as refund_count,
        {% for name in durations %}
        coalesce(sum(change_sign * {{ name }}_minutes), 0)::numeric(22, 8) as {{ name }}_minutes_sum,
        coalesce(sum(change_sign) filter (where {{ name }}_minutes is not null), 0)::int as {{ name }}_minutes_count,
        {% endfor %}
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from orders_to_sum
    group by order_date, order_day_of_week, status, order_hour, partner_id is not null
)

select * from final
