{%- set statuses = ['pending', 'accepted', 'rejected', 'picked_up', 'processing', 'ready',
                    'out_for_delivery', 'completed', 'cancelled'] -%}

with source as (
    select * from {{ source('ops', 'orders') }}
),

renamed as (
    select
        id as order_id,
        order_number,
        customer_id,
        partner_id,
        lower(trim(status)) as status_normalised,
        status as source_status,
        total_amount::numeric(12, 2) as total_amount,
        created_at,
        accepted_at,
        rejected_at,
        picked_up_at,
        ready_at,
        delivered_at,
        cancelled_at,
        updated_at
    from source
),

final as (
    select
        order_id,
        order_number,
        customer_id,
        partner_id,
        case
            when status_normalised in ('{{ statuses | join("', '") }}')  -- noqa: LT05
                then status_normalised
            else 'unknown'
        end as status,
        source_status,
        total_amount,
        created_at,
        accepted_at,
        rejected_at,
        picked_up_at,
        ready_at,
        delivered_at,
        cancelled_at,
        updated_at,
        {{ dq_reason([
            ('unknown_status', "status_normalised not in ('" ~ statuses | join("', '") ~ "') or status_normalised is null"),
            ('negative_duration', 'accepted_at < created_at or picked_up_at < accepted_at or ready_at < picked_up_at
                or delivered_at < ready_at or delivered_at < created_at'),
            ('missing_timestamp', "status_normalised = 'completed' and delivered_at is null"),
            ('negative_amount', 'total_amount < 0'),
        ]) }} as dq_reason,
        -- Flagged orders still count: an unknown status is open (docs/metrics.md).
        false as is_excluded
    from renamed
)

select * from final
