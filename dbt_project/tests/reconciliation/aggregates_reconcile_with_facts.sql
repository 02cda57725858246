{{ config(meta={'dagster': {'ref': {'name': 'agg_orders_daily'}}}) }}
-- Shown in Dagster as an asset check on agg_orders_daily. The aggregates the query
-- API reads must add up, date by date, to the marts they summarise: orders,
-- captured money, refunds and known durations (agg_orders_daily vs fct_orders),
-- item sales and quantities (agg_item_sales_daily vs fct_order_items), customers
-- and lifetime value per first order date (agg_customers_daily vs
-- customer_analytics), partner orders, revenue and ratings per partner and date,
-- and per partner and week (agg_partner_periods vs fct_orders, its week rows vs its
-- own day rows). Returns the dates that differ.
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

partner_facts as (
    select
        partner_id, order_date, count(*) as orders, count(*) filter (where is_accepted) as accepted,
        sum(captured_amount) as revenue, coalesce(sum(rating), 0) as rating_sum, count(rating) as rated
    from {{ ref('fct_orders') }}
    where partner_id is not null
    group by partner_id, order_date
),

partner_days as (
    select
        partner_id, period_start as order_date, orders_received as orders, orders_accepted as accepted, revenue,
        rating_sum, rated_orders as rated
    from {{ ref('agg_partner_periods') }}
    where period = 'day'
),

partner_weeks_from_days as (
    select
        partner_id, date_trunc('week', order_date)::date as week_start, sum(orders) as orders,
        sum(revenue) as revenue, sum(rating_sum) as rating_sum, sum(rated) as rated
    from partner_days
    group by partner_id, date_trunc('week', order_date)::date
),

partner_weeks as (
    select partner_id, period_start as week_start, orders_received as orders, revenue, rating_sum, rated_orders as rated
    from {{ ref('agg_partner_periods') }}
    where period = 'week'
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
union all
select coalesce(partner_facts.order_date, partner_days.order_date) as order_date, 'partner days' as aggregate
from partner_facts
full outer join partner_days
    on partner_days.partner_id = partner_facts.partner_id and partner_days.order_date = partner_facts.order_date
where
    (partner_facts.orders, partner_facts.accepted, partner_facts.revenue, partner_facts.rating_sum, partner_facts.rated)
    is distinct from (
        partner_days.orders, partner_days.accepted, partner_days.revenue, partner_days.rating_sum, partner_days.rated
    )
union all
select
    coalesce(partner_weeks_from_days.week_start, partner_weeks.week_start) as order_date,
    'partner weeks' as aggregate
from partner_weeks_from_days
full outer join partner_weeks
    on
        partner_weeks.partner_id = partner_weeks_from_days.partner_id
        and partner_weeks.week_start = partner_weeks_from_days.week_start
where
    (
        partner_weeks_from_days.orders, partner_weeks_from_days.revenue, partner_weeks_from_days.rating_sum,
        partner_weeks_from_days.rated
    )
    is distinct from (partner_weeks.orders, partner_weeks.revenue, partner_weeks.rating_sum, partner_weeks.rated)
