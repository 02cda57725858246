{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['customer_id'], 'unique': true}],
    )
}}

-- Per customer: everything about their orders that does not move with as_of_date.
-- Incremental: recomputes the customers of fct_orders rows refreshed since this
-- model's last run. (orders.customer_id is taken as immutable.)

with

-- Not materialized although used twice: each use keeps its own filter on an index
-- (refreshed_at, customer_id) instead of copying all of fct_orders first.
orders as not materialized (
    select * from {{ ref('fct_orders') }}
),

{% if is_incremental() %}
changed_customers as (
    select distinct customer_id
    from orders
    where {{ refreshed_since_last_run() }}
),
{% endif %}

customer_orders as (
    select * from orders
    {% if is_incremental() %}
    where customer_id in (select customer_id from changed_customers)
    {% endif %}
),

order_items as (
    select * from {{ ref('fct_order_items') }}
    {% if is_incremental() %}
    where customer_id in (select customer_id from changed_customers)
    {% endif %}
),

totals as (
    select
        customer_id,
        count(*) as total_orders,
        count(*) filter (where is_completed) as completed_orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        sum(captured_amount) as total_spent,
        sum(refunded_amount) as total_refunded,
        count(*) filter (where captured_payment_count > 0) as paid_orders,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        {{ avg2('rating') }} as average_rating_given
    from customer_orders
    group by customer_id
),

category_quantities as (
    select
        customer_id,
        service_category_name,
        sum(quantity) as quantity
    from order_items
    where not is_cancelled and service_category_name is not null
    group by customer_id, service_category_name
),

favorite_categories as (
    select distinct on (customer_id)
        customer_id,
        service_category_name as favorite_service_category
    from category_quantities
    order by customer_id asc, quantity desc, service_category_name asc
),

method_counts as (
    -- Captured payments per known method, from fct_orders' per-order counts (a
    -- payment of unknown method counts for none): no lookup of every payment of
    -- a customer's whole history.
    select
        customer_orders.customer_id,
        by_method.method,
        sum(by_method.captured_payments) as captured_payments
    from customer_orders
    cross join
        lateral (
            values
            {%- for method in var('payment_methods') %}
            ('{{ method }}', customer_orders.captured_{{ method }}_payment_count){{ ',' if not loop.last }}
            {%- endfor %}
        ) as by_method (method, captured_payments)
    where by_method.captured_payments > 0
    group by customer_orders.customer_id, by_method.method
),

preferred_methods as (
    select distinct on (customer_id)
        customer_id,
        method as preferred_payment_method
    from method_counts
    order by customer_id asc, captured_payments desc, method asc
),

final as (
    select
        totals.customer_id,
        totals.total_orders::int as total_orders,
        totals.completed_orders::int as completed_orders,
        totals.cancelled_orders::int as cancelled_orders,
        totals.total_spent::numeric(12, 2) as total_spent,
        totals.total_refunded::numeric(12, 2) as total_refunded,
        totals.paid_orders::int as paid_orders,
        totals.first_order_date,
        totals.last_order_date,
        totals.average_rating_given,
        favorite_categories.favorite_service_category,
        preferred_methods.preferred_payment_method,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from totals
    left join favorite_categories on favorite_categories.customer_id = totals.customer_id
    left join preferred_methods on preferred_methods.customer_id = totals.customer_id
)

select * from final
