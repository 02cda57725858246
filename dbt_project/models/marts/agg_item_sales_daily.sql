{{
    config(
        materialized='incremental',
        unique_key='order_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['order_date']}],
    )
}}

-- Item sales (line totals), quantities and order counts of fct_order_items per
-- (order date, paid or not, service category, service), plus one row per
-- (order date, paid or not, category) with is_category_total: an order counted
-- once per category even when it holds several of its services. What the query
-- API adds up for a range of all partners instead of scanning every item. An
-- order has one order date and one paid flag, so order counts add up across days
-- and across the flag.
-- Incremental: rebuilds every order date of the fct_order_items rows refreshed
-- since this model's last run.

with

items_to_sum as (
    select * from {{ rows_of_refreshed_keys(ref('fct_order_items'), 'order_date') }} as items
),

final as (
    select
        order_date,
        is_paid,
        service_category_name,
        service_name,
        grouping(service_name) = 1 as is_category_total,
        sum(line_total)::numeric(14, 2) as item_sales,
        sum(quantity)::int as quantity,
        count(distinct order_id)::int as orders,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from items_to_sum
    group by grouping sets (
        (order_date, is_paid, service_category_name, service_name),
        (order_date, is_paid, service_category_name)
    )
)

select * from final
