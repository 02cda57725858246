-- Per order: quantity and value of its items (line items of unknown orders dropped).
with orders as (
    select order_id from {{ ref('stg_ops__orders') }}
),

items as (
    select * from {{ ref('stg_ops__order_items') }} where not is_excluded
),

final as (
    select
        items.order_id,
        count(*) as item_lines,
        sum(items.quantity) as items_quantity,
        sum(items.line_total)::numeric(12, 2) as items_total
    from items
    inner join orders on orders.order_id = items.order_id
    group by items.order_id
)

select * from final
