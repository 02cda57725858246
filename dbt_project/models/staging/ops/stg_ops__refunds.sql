with source as (
    select * from {{ source('ops', 'refunds') }}
),

renamed as (
    select
        id as refund_id,
        order_id,
        payment_id,
        amount::numeric(12, 2) as amount,
        lower(trim(status)) as status_normalised,
        nullif(trim(reason), '') as reason,
        created_at,
        updated_at
    from source
),

final as (
    select
        refund_id,
        order_id,
        payment_id,
        amount,
        case when status_normalised in ('pending', 'completed', 'failed') then status_normalised else 'unknown' end
            as status,
        reason,
        created_at,
        updated_at,
        {{ dq_reason([
            ('negative_amount', 'amount < 0'),
            ('unknown_status', "status_normalised not in ('pending', 'completed', 'failed') or status_normalised is null"),
        ]) }} as dq_reason,
        amount < 0 as is_excluded
    from renamed
)

select * from final
