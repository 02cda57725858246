{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='upsert_keeping_changes',
        pre_hook="{{ reset_changes() }}",
        on_schema_change='fail',
        indexes=[
            {'columns': ['order_item_id'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['order_date']},
            {'columns': ['customer_id']},
            {'columns': ['partner_id', 'order_date', 'is_paid', 'service_category_name', 'service_name', 'order_id',
                         'line_total', 'quantity']},
            {'columns': ['refreshed_at']},
        ],
    )
}}

-- One row per order item with its service, category and its order's date,
-- partner and flags: the base of "by service category" and "top services".
-- (partner_id, order_date, ...) holds what the query API adds up for one partner
-- or city (laundry_analytics.analytics.rows.item_rows): an index-only scan of that
-- partner's range instead of heap pages spread over the whole table.
-- Excluded item rows (staging) are left out, as in fct_orders.
-- Incremental: replaces the items of the orders fct_orders refreshed since this
-- model's last run (an item change bumps orders.updated_at, as for fct_orders),
-- keeping the replaced and new item rows in fct_order_items_changes (macros/deltas.sql).

with

orders as (
    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where {{ refreshed_since_last_run() }}
    {% endif %}
),

items as (
    select * from {{ rows_of_orders(ref('stg_ops__order_items'), 'orders') }} as items
    where not is_excluded
),

services as (
    select * from {{ ref('stg_ops__services') }}
),

categories as (
    select * from {{ ref('stg_ops__service_categories') }}
),

final as (
    select
        items.order_item_id,
        items.order_id,
        orders.order_date,
        orders.customer_id,
        orders.partner_id,
        orders.is_cancelled,
        orders.captured_payment_count > 0 as is_paid,
        items.service_id,
        services.service_name,
        categories.service_category_name,
        items.quantity,
        items.line_total,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from orders
    inner join items on items.order_id = orders.order_id
    left join services on services.service_id = items.service_id
    left join categories on categories.service_category_id = services.service_category_id
)

select * from final
