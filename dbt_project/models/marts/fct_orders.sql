-- One row per order: the base of every order, revenue and partner metric.
with orders as (
    select * from {{ ref('stg_ops__orders') }}
),

items as (
    select * from {{ ref('int_order_items') }}
),

payments as (
    select * from {{ ref('int_order_payments') }}
),

refunds as (
    select * from {{ ref('int_order_refunds') }}
),

feedback as (
    select * from {{ ref('int_order_feedback') }}
),

final as (
    select
        orders.order_id,
        orders.order_number,
        orders.customer_id,
        orders.partner_id,
        orders.status,
        {{ local_date('orders.created_at') }} as order_date,
        {{ local_hour('orders.created_at') }} as order_hour,
        {{ local_day_of_week('orders.created_at') }} as order_day_of_week,
        orders.created_at,
        orders.accepted_at,
        orders.rejected_at,
        orders.picked_up_at,
        orders.ready_at,
        orders.delivered_at,
        orders.cancelled_at,
        orders.status = 'completed' as is_completed,
        orders.status in ('cancelled', 'rejected') as is_cancelled,
        orders.status = 'rejected' as is_rejected,
        orders.status not in ('completed', 'cancelled', 'rejected') as is_open,
        orders.accepted_at is not null as is_accepted,
        orders.total_amount,
        coalesce(items.items_quantity, 0)::int as items_quantity,
        coalesce(payments.captured_payment_count, 0)::int as captured_payment_count,
        coalesce(payments.captured_amount, 0)::numeric(12, 2) as captured_amount,
        coalesce(payments.captured_cash_amount, 0)::numeric(12, 2) as captured_cash_amount,
        coalesce(payments.captured_card_amount, 0)::numeric(12, 2) as captured_card_amount,
        coalesce(payments.captured_wallet_amount, 0)::numeric(12, 2) as captured_wallet_amount,
        coalesce(payments.captured_online_amount, 0)::numeric(12, 2) as captured_online_amount,
        coalesce(refunds.refund_count, 0)::int as refund_count,
        coalesce(refunds.refunded_amount, 0)::numeric(12, 2) as refunded_amount,
        (coalesce(payments.captured_amount, 0) - coalesce(refunds.refunded_amount, 0))::numeric(12, 2) as net_amount,
        {{ minutes_between('orders.created_at', 'orders.accepted_at') }} as acceptance_minutes,
        {{ minutes_between('orders.accepted_at', 'orders.picked_up_at') }} as pickup_minutes,
        {{ minutes_between('orders.picked_up_at', 'orders.ready_at') }} as processing_minutes,
        {{ minutes_between('orders.ready_at', 'orders.delivered_at') }} as delivery_minutes,
        {{ minutes_between('orders.created_at', 'orders.delivered_at') }} as total_minutes,
        coalesce(orders.dq_reason like '%negative_duration%', false) as has_negative_duration,
        feedback.rating,
        coalesce(feedback.rating_count, 0)::int as rating_count,
        coalesce(feedback.issues_reported, 0)::int as issues_reported,
        coalesce(feedback.items_damaged, 0)::int as items_damaged,
        coalesce(feedback.items_lost, 0)::int as items_lost,
        orders.dq_reason,
        greatest(
            orders.updated_at, payments.payments_updated_at, refunds.refunds_updated_at, feedback.feedback_updated_at
        ) as last_changed_at
    from orders
    left join items on items.order_id = orders.order_id
    left join payments on payments.order_id = orders.order_id
    left join refunds on refunds.order_id = orders.order_id
    left join feedback on feedback.order_id = orders.order_id
)

select * from final
