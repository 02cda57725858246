with source as (
    select * from {{ source('ops', 'services') }}
),

final as (
    select
        id as service_id,
        category_id as service_category_id,
        trim(name) as service_name,
        unit_price::numeric(10, 2) as unit_price,
        is_active,
        null::text as dq_reason,
        false as is_excluded
    from source
)

select * from final
