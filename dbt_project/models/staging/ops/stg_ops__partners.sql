with source as (
    select * from {{ source('ops', 'partners') }}
),

final as (
    select
        id as partner_id,
        trim(business_name) as business_name,
        nullif(trim(city), '') as city,
        daily_capacity,
        is_active,
        created_at,
        {{ dq_reason([('missing_city', "nullif(trim(city), '') is null")]) }} as dq_reason,
        false as is_excluded
    from source
)

select * from final
