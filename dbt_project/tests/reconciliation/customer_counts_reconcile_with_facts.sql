{{ config(meta={'dagster': {'ref': {'name': 'int_customers_daily'}}}) }}
-- Shown in Dagster as an asset check on int_customers_daily. The new and returning
-- customers kept by deltas must be those counted from fct_orders alone: per order
-- date, the distinct customers with an order that date, new when it is the earliest
-- of their order dates. Returns the dates that differ.
with customer_dates as (
    select distinct order_date, customer_id from {{ ref('fct_orders') }}
),

first_dates as (
    select customer_id, min(order_date) as first_order_date
    from customer_dates
    group by customer_id
),

facts as (
    select
        customer_dates.order_date,
        count(*) as customers,
        count(*) filter (where customer_dates.order_date = first_dates.first_order_date) as new_customers
    from customer_dates
    inner join first_dates on first_dates.customer_id = customer_dates.customer_id
    group by customer_dates.order_date
),

kept as (
    select order_date, customers, new_customers, returning_customers
    from {{ ref('int_customers_daily') }}
)

select
    coalesce(facts.order_date, kept.order_date) as order_date,
    facts.customers as customers_in_facts,
    kept.customers as customers_kept,
    facts.new_customers as new_in_facts,
    kept.new_customers as new_kept,
    kept.returning_customers as returning_kept
from facts
full outer join kept on kept.order_date = facts.order_date
where
    facts.customers is distinct from kept.customers
    or facts.new_customers is distinct from kept.new_customers
    or facts.customers - facts.new_customers is distinct from kept.returning_customers
