with source as (
    select * from {{ source('ops', 'order_issues') }}
),

renamed as (
    select
        id as order_issue_id,
        order_id,
        lower(trim(issue_type)) as issue_type_normalised,
        description,
        created_at
    from source
),

final as (
    select
        order_issue_id,
        order_id,
        -- An unknown type is still a reported issue: counted as 'other'.
        case
            when issue_type_normalised in ('damaged', 'lost', 'delay', 'other') then issue_type_normalised
            else 'other'
        end as issue_type,
        description,
        created_at,
        {{ dq_reason([
            ('unknown_issue_type', "issue_type_normalised not in ('damaged', 'lost', 'delay', 'other') or issue_type_normalised is null"),
        ]) }} as dq_reason,
        false as is_excluded
    from renamed
)

select * from final
