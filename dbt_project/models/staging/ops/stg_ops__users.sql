with

renamed as (
    select * from {{ ref('base_ops__users') }}
),

ranked as (
    select
        *,
        -- The earliest account with an email owns it; later ones are look-alikes.
        row_number() over (partition by lower(email) order by date_joined, user_id) as email_rank
    from renamed
),

final as (
    select
        user_id,
        email,
        full_name,
        phone,
        date_joined,
        is_active,
        is_staff,
        {{ dq_reason([
            ('missing_email', 'email is null'),
            ('duplicate_email', 'email is not null and email_rank > 1'),
        ]) }} as dq_reason,
        false as is_excluded
    from ranked
)

select * from final
