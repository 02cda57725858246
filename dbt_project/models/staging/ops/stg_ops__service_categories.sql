with source as (
    select * from {{ source('ops', 'service_categories') }}
),

final as (
    select
        id as service_category_id,
        trim(name) as service_category_name,
        null::text as dq_reason,
        false as is_excluded
    from source
)

select * from final
