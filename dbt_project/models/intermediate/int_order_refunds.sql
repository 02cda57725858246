-- Per order: completed refunds.
with orders as (
    select order_id from {{ ref('stg_ops__orders') }}
),

refunds as (
    select * from {{ ref('stg_ops__refunds') }} where not is_excluded
),

final as (
    select
        refunds.order_id,
        count(*) filter (where status = 'completed') as refund_count,
        coalesce(sum(amount) filter (where status = 'completed'), 0)::numeric(12, 2) as refunded_amount,
        max(updated_at) as refunds_updated_at
    from refunds
    inner join orders on orders.order_id = refunds.order_id
    group by refunds.order_id
)

select * from final
