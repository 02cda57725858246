with source as (
    select * from {{ source('ops', 'payments') }}
),

renamed as (
    select
        id as payment_id,
        order_id,
        amount::numeric(12, 2) as amount,
        lower(trim(method)) as method_normalised,
        lower(trim(status)) as status_normalised,
        created_at,
        paid_at,
        updated_at
    from source
),

ranked as (
    select
        *,
        -- Identical rows under a new id are double-recorded, not double-paid:
        -- the earliest (by id) is the payment, later copies are excluded.
        row_number() over (
            partition by order_id, amount, method_normalised, status_normalised, created_at, paid_at, updated_at
            order by payment_id
        ) as copy_number
    from renamed
),

final as (
    select
        payment_id,
        order_id,
        amount,
        case when method_normalised in ('cash', 'card', 'wallet', 'online') then method_normalised else 'unknown' end
            as method,
        case when status_normalised in ('pending', 'completed', 'failed') then status_normalised else 'unknown' end
            as status,
        created_at,
        paid_at,
        updated_at,
        {{ dq_reason([
            ('duplicate', 'copy_number > 1'),
            ('negative_amount', 'amount < 0'),
            ('unknown_method', "method_normalised not in ('cash', 'card', 'wallet', 'online') or method_normalised is null"),
            ('unknown_status', "status_normalised not in ('pending', 'completed', 'failed') or status_normalised is null"),
            ('missing_paid_at', "status_normalised = 'completed' and paid_at is null"),
        ]) }} as dq_reason,
        (copy_number > 1 or amount < 0) as is_excluded
    from ranked
)

select * from final
