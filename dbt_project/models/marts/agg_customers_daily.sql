{{
    config(
        indexes=[{'columns': ['first_order_date']}],
    )
}}

-- Customers of customer_analytics counted per (first order date, segment, churn
-- risk flag), with the sum of their lifetime value: what the query API adds up for
-- "customers acquired by the end of a range" over all partners instead of reading
-- every customer. A table rebuilt on every run: the segments and churn flags of
-- the customer_analytics view move with the calendar, and these counts are as of
-- the as_of_date of their build (the payloads say which).

with

customers as (
    select * from {{ ref('customer_analytics') }}
),

final as (
    select
        first_order_date,
        customer_segment,
        is_at_churn_risk,
        count(*)::int as customers,
        sum(lifetime_value)::numeric(14, 2) as lifetime_value,
        count(lifetime_value)::int as lifetime_value_count,
        as_of_date
    from customers
    group by first_order_date, customer_segment, is_at_churn_risk, as_of_date
)

select * from final
