-- Raw customer contacts, for report schedules explicitly allowed to show PII
-- (report_schedules.allow_pii). Lives in its own schema with no grant to the
-- analyst role: analysts and every other report see dim_customers (masked).

with

users as (
    select * from {{ ref('stg_ops__users') }}
),

final as (
    select
        user_id,
        email,
        full_name,
        phone
    from users
)

select * from final
