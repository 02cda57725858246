{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'fct_order_items'},
        delta_keys=['order_date', 'is_paid', 'service_category_name', 'service_name', 'is_category_total'],
        delta_count='orders',
        delta_nullable_keys=['service_category_name', 'service_name'],
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['order_date']}],
    )
}}

{% set since = deltas_since(ref('fct_order_items')) %}

-- Item sales (line totals), quantities and order counts of fct_order_items per
-- (order date, paid or not, service category, service), plus one row per
-- (order date, paid or not, category) with is_category_total: an order counted
-- once per category even when it holds several of its services. What the query
-- API adds up for a range of all partners instead of scanning every item. An
-- order has one order date and one paid flag, so order counts add up across days
-- and across the flag.
-- Incremental by deltas (macros/deltas.sql): each changed order's old items are
-- subtracted and its new items added (an order counts once per row it appears in,
-- so its distinct-order count is a signed count of (order, version) pairs).

with

items_to_sum as (
    select * from {{ delta_rows(ref('fct_order_items'), since) }} as items
),

per_order as (
    -- One row per version of an order (change_sign) and row of the summary.
    select
        change_sign,
        order_id,
        order_date,
        is_paid,
        service_category_name,
        service_name,
        grouping(service_name) = 1 as is_category_total,
        sum(line_total) as item_sales,
        sum(quantity) as quantity
    from items_to_sum
    group by grouping sets (
        (change_sign, order_id, order_date, is_paid, service_category_name, service_name),
        (change_sign, order_id, order_date, is_paid, service_category_name)
    )
),

final as (
    select
        order_date,
        is_paid,
        service_category_name,
        service_name,
        is_category_total,
        sum(change_sign * item_sales)::numeric(14, 2) as item_sales,
        sum(change_sign * quantity)::int as quantity,
        sum(change_sign)::int as orders,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from per_order
    group by order_date, is_paid, service_category_name, service_name, is_category_total
)

select * from final
