with source as (
    select * from {{ source('ops', 'order_items') }}
),

final as (
    select
        id as order_item_id,
        order_id,
        service_id,
        quantity,
        unit_price::numeric(10, 2) as unit_price,
        line_total::numeric(12, 2) as line_total,
        {{ dq_reason([('line_total_mismatch', 'line_total <> quantity * unit_price')]) }} as dq_reason,
        false as is_excluded
    from source
)

select * from final
