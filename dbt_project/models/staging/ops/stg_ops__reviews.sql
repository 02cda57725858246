with source as (
    select * from {{ source('ops', 'reviews') }}
),

final as (
    select
        id as review_id,
        order_id,
        customer_id,
        partner_id,
        rating,
        comment,
        created_at,
        null::text as dq_reason,
        false as is_excluded
    from source
)

select * from final
