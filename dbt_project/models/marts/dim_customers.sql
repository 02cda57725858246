-- One row per user, with the PII masked (mask_* macros): what dashboards and
-- reports show beside customer metrics. The raw email, name and phone stay in ops.

with

users as (
    select * from {{ ref('stg_ops__users') }}
),

final as (
    select
        user_id,
        {{ mask_name('full_name') }} as masked_name,
        {{ mask_email('email') }} as masked_email,
        {{ mask_phone('phone') }} as masked_phone,
        date_joined,
        is_active
    from users
)

select * from final
