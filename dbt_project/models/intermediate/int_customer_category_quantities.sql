{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'fct_order_items'},
        delta_keys=['customer_id', 'service_category_name'],
        delta_count='items',
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['customer_id', 'service_category_name'], 'unique': true}],
    )
}}

{% set since = deltas_since(ref('fct_order_items')) %}

-- Quantities each customer ordered per service category, over the items of their
-- orders that are not cancelled (the base of the favourite category). Incremental
-- by deltas (macros/deltas.sql): the old items of each changed order subtracted,
-- its new ones added.

with

items as (
    select * from {{ delta_rows(ref('fct_order_items'), since) }} as items
    where not is_cancelled and service_category_name is not null
),

final as (
    select
        customer_id,
        service_category_name,
        sum(change_sign * quantity)::bigint as quantity,
        sum(change_sign)::int as items,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from items
    group by customer_id, service_category_name
)

select * from final
