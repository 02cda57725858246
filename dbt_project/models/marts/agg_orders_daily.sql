{{
    config(
        materialized='incremental',
        unique_key='order_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['order_date']}],
    )
}}

{% set durations = ['acceptance', 'pickup', 'processing', 'delivery', 'total'] %}

-- Sums and counts of fct_orders per (order date, status, local hour, has a partner):
-- what the query API adds up for a range of all partners instead of scanning every
-- order of the range, so a year's payload reads ~100k small rows, not millions of
-- orders. Only sums and counts: a range's totals are their sums, and its averages
-- (sum of minutes / count of known durations) equal the averages over fct_orders.
-- Incremental: rebuilds every order date of the fct_orders rows refreshed since
-- this model's last run (an order never changes date: created_at is immutable).

with

orders_to_sum as (
    select * from {{ rows_of_refreshed_keys(ref('fct_orders'), 'order_date') }} as orders
),

final as (
    select
        order_date,
        order_day_of_week,
        status,
        order_hour,
        partner_id is not null as has_partner,
        count(*)::int as orders,
        count(*) filter (where is_completed)::int as completed_orders,
        count(*) filter (where is_cancelled)::int as cancelled_orders,
        count(*) filter (where is_open)::int as open_orders,
        count(*) filter (where captured_payment_count > 0)::int as paid_orders,
        sum(captured_amount)::numeric(14, 2) as captured_amount,
        {% for method in var('payment_methods') %}
        sum(captured_{{ method }}_amount)::numeric(14, 2) as captured_{{ method }}_amount,
        {% endfor %}
        sum(refunded_amount)::numeric(14, 2) as refunded_amount,
        sum(refund_count)::int as refund_count,
        {% for name in durations %}
        sum({{ name }}_minutes)::numeric(22, 8) as {{ name }}_minutes_sum,
        count({{ name }}_minutes)::int as {{ name }}_minutes_count,
        {% endfor %}
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from orders_to_sum
    group by order_date, order_day_of_week, status, order_hour, partner_id is not null
)

select * from final
