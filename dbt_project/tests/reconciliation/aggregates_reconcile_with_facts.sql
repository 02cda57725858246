{{ config(meta={'dagster': {'ref': {'name': 'agg_orders_daily'}}}) }}
-- Shown in Dagster as an asset check on agg_orders_daily. The aggregates the query
-- API reads must add up, date by date, to the marts they summarise: orders,
-- captured money, refunds and known durations (agg_orders_daily vs fct_orders),
-- item sales and quantities (agg_item_sales_daily vs fct_order_items), customers
-- and lifetime value per first order date (agg_customers_daily vs
-- customer_analytics). Returns the dates that differ.
with facts as (
    select
        order_date, count(*) as orders, sum(captured_amount) as captured, sum(refunded_amount) as refunded,
        count(total_minutes) as known_totals, coalesce(sum(total_minutes), 0) as total_minutes
    from {{ ref('fct_orders') }}
    group by order_date
),

aggregated as (
    select
        order_date, sum(orders) as orders, sum(captured_amount) as captured, sum(refunded_amount) as refunded,
        sum(total_minutes_count) as known_totals, sum(total_minutes_sum) as total_minutes
    from {{ ref('agg_orders_daily') }}
    group by order_date
),

item_facts as (
    select order_date, sum(line_total) as item_sales, sum(quantity) as quantity
    from {{ ref('fct_order_items') }}
    group by order_date
),

customer_facts as (
    select first_order_date, count(*) as customers, sum(lifetime_value) as lifetime_value
    from {{ ref('customer_analytics') }}
    group by first_order_date
),

customer_aggregated as (
    select first_order_date, sum(customers) as customers, sum(lifetime_value) as lifetime_value
    from {{ ref('agg_customers_daily') }}
    group by first_order_date
),

item_aggregated as (
    select order_date, sum(item_sales) as item_sales, sum(quantity) as quantity
    from {{ ref('agg_item_sales_daily') }}
    where not is_category_total
    group by order_date
)

select coalesce(facts.order_date, aggregated.order_date) as order_date, 'orders' as aggregate
from facts
full outer join aggregated on aggregated.order_date = facts.order_date
where
    (facts.orders, facts.captured, facts.refunded, facts.known_totals, facts.total_minutes)
    is distinct from (
        aggregated.orders, aggregated.captured, aggregated.refunded, aggregated.known_totals,
        aggregated.total_minutes
    )
union all
select coalesce(item_facts.order_date, item_aggregated.order_date) as order_date, 'items' as aggregate
from item_facts
full outer join item_aggregated on item_aggregated.order_date = item_facts.order_date
where
    (item_facts.item_sales, item_facts.quantity) is distinct from (item_aggregated.item_sales, item_aggregated.quantity)
union all
select
    coalesce(customer_facts.first_order_date, customer_aggregated.first_order_date) as order_date,
    'customers' as aggregate
from customer_facts
full outer join customer_aggregated on customer_aggregated.first_order_date = customer_facts.first_order_date
where
    (customer_facts.customers, customer_facts.lifetime_value)
    is distinct from (customer_aggregated.customers, customer_aggregated.lifetime_value)
