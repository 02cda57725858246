-- Per order: captured payments (status completed), in total and by method.
-- A captured payment of unknown method counts in captured_amount but in no method column.
with orders as (
    select order_id from {{ ref('stg_ops__orders') }}
),

payments as (
    select * from {{ ref('stg_ops__payments') }} where not is_excluded
),

final as (
    select
        payments.order_id,
        count(*) filter (where status = 'completed') as captured_payment_count,
        coalesce(sum(amount) filter (where status = 'completed'), 0)::numeric(12, 2) as captured_amount,
        {%- for method in ['cash', 'card', 'wallet', 'online'] %}
        coalesce(sum(amount) filter (where status = 'completed' and method = '{{ method }}'), 0)::numeric(12, 2)
            as captured_{{ method }}_amount,
        {%- endfor %}
        max(updated_at) as payments_updated_at
    from payments
    inner join orders on orders.order_id = payments.order_id
    group by payments.order_id
)

select * from final
