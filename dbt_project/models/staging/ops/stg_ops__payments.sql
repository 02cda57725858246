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

flagged as (
    select
        *,
        -- Rows identical in every column but the id are usually separate payments
        -- (two equal halves on one card terminal, instalments, a batch import that
        -- stamps one time): each one counts. A later id of such a group is flagged
        -- possible_duplicate with the lowest id of the group, the row it resembles.
        nullif(
            first_value(payment_id) over (
                partition by order_id, amount, method_normalised, status_normalised, created_at, paid_at, updated_at
                order by payment_id
            ),
            payment_id
        ) as resembles_payment_id
    from renamed
),

final as (
    select
        payment_id,
        order_id,
        amount,
        case
            when method_normalised in ('{{ var("payment_methods") | join("', '") }}')  -- noqa: LT05
                then method_normalised
            else 'unknown'
        end as method,
        case when status_normalised in ('pending', 'completed', 'failed') then status_normalised else 'unknown' end
            as status,
        created_at,
        paid_at,
        updated_at,
        resembles_payment_id,
        {{ dq_reason([
            ('possible_duplicate', 'resembles_payment_id is not null'),
            ('negative_amount', 'amount < 0'),
            ('unknown_method', "method_normalised not in ('" ~ var('payment_methods') | join("', '")
                               ~ "') or method_normalised is null"),
            ('unknown_status', "status_normalised not in ('pending', 'completed', 'failed') or status_normalised is null"),
            ('missing_paid_at', "status_normalised = 'completed' and paid_at is null"),
        ]) }} as dq_reason,
        (
            amount < 0
            {#- Opt-in (var exclude_identical_payments), for a source known to record
                one payment twice under two ids. -#}
            {%- if var('exclude_identical_payments') %}
            or resembles_payment_id is not null
            {%- endif %}
        ) as is_excluded
    from flagged
)

select * from final
