{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='upsert_keeping_changes',
        meta={'delta_of': 'fct_orders', 'vacuum_at_run_end': true},
        pre_hook="{{ reset_changes() }}",
        post_hook=["{{ record_deltas_applied() }}"],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['customer_id'], 'unique': true},
            {'columns': ['lifetime_value']},
            {'columns': ['first_order_date']},
            {'columns': ['last_order_date']},
            {'columns': ['refreshed_at']},
        ],
    )
}}

{#- on_schema_change append_new_columns: a warehouse built before the delta columns
    gains them, then (no watermark yet) recomputes every customer once. -#}
{% set methods = var('payment_methods') %}
{% set since = deltas_since(ref('fct_orders')) %}
{#- A table built before lifetime_value was kept here gains the column empty: recompute
    every customer once, as for a missing watermark. -#}
{%- if since is not none and 'lifetime_value' not in adapter.get_columns_in_relation(this) | map(attribute='name') -%}
    {%- set since = none -%}
{%- endif %}

-- Per customer: everything about their orders that does not move with as_of_date,
-- including lifetime_value (indexed here: the top customers are read by it through
-- the customer_analytics view; last_order_date, the active customers of a range
-- that reaches the latest order date).
-- Counts and sums, the rating average (kept as rating_sum / rated_orders) and the
-- captured payments per method are maintained by deltas (macros/deltas.sql): the
-- fct_orders changes since this model's last run, each changed order's old
-- version subtracted and its new one added, for the touched customers only. An
-- order never leaves fct_orders nor changes date or customer, so the first and
-- last order dates only move outwards (least / greatest with the changed orders'
-- dates). The favourite category is re-ranked from int_customer_category_quantities
-- and the preferred method from the per-method counts, for those customers only.
-- Upserted keeping changes, like the facts: the previous and new version of every
-- customer row it replaces go to int_customer_order_summary_changes, from which
-- agg_customers_daily counts the customers that moved between segments.

with

changes as (
    select * from {{ delta_rows(ref('fct_orders'), since) }} as orders
),

deltas as (
    select
        customer_id,
        sum(change_sign) as total_orders,
        coalesce(sum(change_sign) filter (where is_completed), 0) as completed_orders,
        coalesce(sum(change_sign) filter (where is_cancelled), 0) as cancelled_orders,
        sum(change_sign * captured_amount) as total_spent,
        sum(change_sign * refunded_amount) as total_refunded,
        coalesce(sum(change_sign) filter (where captured_payment_count > 0), 0) as paid_orders,
        min(order_date) filter (where change_sign > 0) as first_order_date,
        max(order_date) filter (where change_sign > 0) as last_order_date,
        {%- for method in methods %}
        sum(change_sign * captured_{{ method }}_payment_count) as captured_{{ method }}_payments,
        {%- endfor %}
        coalesce(sum(change_sign * rating), 0) as rating_sum,
        coalesce(sum(change_sign) filter (where rating is not null), 0) as rated_orders
    from changes
    group by customer_id
),

{% if since is none %}
totals as (
    select * from deltas
),
{% else %}
totals as (
    -- The touched customers' previous row plus their deltas.
    select
        deltas.customer_id,
        coalesce(previous.total_orders, 0) + deltas.total_orders as total_orders,
        coalesce(previous.completed_orders, 0) + deltas.completed_orders as completed_orders,
        coalesce(previous.cancelled_orders, 0) + deltas.cancelled_orders as cancelled_orders,
        coalesce(previous.total_spent, 0) + deltas.total_spent as total_spent,
        coalesce(previous.total_refunded, 0) + deltas.total_refunded as total_refunded,
        coalesce(previous.paid_orders, 0) + deltas.paid_orders as paid_orders,
        least(previous.first_order_date, deltas.first_order_date) as first_order_date,
        greatest(previous.last_order_date, deltas.last_order_date) as last_order_date,
        {%- for method in methods %}
        coalesce(previous.captured_{{ method }}_payments, 0)
        + deltas.captured_{{ method }}_payments as captured_{{ method }}_payments,
        {%- endfor %}
        coalesce(previous.rating_sum, 0) + deltas.rating_sum as rating_sum,
        coalesce(previous.rated_orders, 0) + deltas.rated_orders as rated_orders
    from deltas
    left join {{ this }} as previous on previous.customer_id = deltas.customer_id
),
{% endif %}

favorite_categories as (
    select distinct on (customer_id)
        customer_id,
        service_category_name as favorite_service_category
    from {{ ref('int_customer_category_quantities') }}
    {%- if since is not none %}
    where customer_id in (select customer_id from deltas)
    {%- endif %}
    order by customer_id asc, quantity desc, service_category_name asc
),

preferred_methods as (
    -- The known method with the most captured payments (a payment of unknown
    -- method counts for none); ties to the first in alphabetical order.
    select distinct on (totals.customer_id)
        totals.customer_id,
        by_method.method as preferred_payment_method
    from totals
    cross join
        lateral (
            values
            {%- for method in methods %}
            ('{{ method }}', totals.captured_{{ method }}_payments){{ ',' if not loop.last }}
            {%- endfor %}
        ) as by_method (method, captured_payments)
    where by_method.captured_payments > 0
    order by totals.customer_id asc, by_method.captured_payments desc, by_method.method asc
),

final as (
    select
        totals.customer_id,
        totals.total_orders::int as total_orders,
        totals.completed_orders::int as completed_orders,
        totals.cancelled_orders::int as cancelled_orders,
        totals.total_spent::numeric(12, 2) as total_spent,
        totals.total_refunded::numeric(12, 2) as total_refunded,
        (totals.total_spent - totals.total_refunded)::numeric(12, 2) as lifetime_value,
        totals.paid_orders::int as paid_orders,
        totals.first_order_date,
        totals.last_order_date,
        round(totals.rating_sum / nullif(totals.rated_orders, 0), 2) as average_rating_given,
        favorite_categories.favorite_service_category,
        preferred_methods.preferred_payment_method,
        totals.rating_sum::numeric(14, 2) as rating_sum,
        totals.rated_orders::int as rated_orders,
        {%- for method in methods %}
        totals.captured_{{ method }}_payments::int as captured_{{ method }}_payments,
        {%- endfor %}
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from totals
    left join favorite_categories on favorite_categories.customer_id = totals.customer_id
    left join preferred_methods on preferred_methods.customer_id = totals.customer_id
)

select * from final
