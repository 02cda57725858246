{{ config(materialized='view') }}

-- One row per partner and customer who ordered from it (docs/metrics.md,
-- partner_customers): the customer's figures, segment and churn risk as in
-- customer_analytics, with the date of their first order with that partner. A view
-- over int_partner_customers, kept current by the runs (the customers whose orders
-- changed); the columns that move with the calendar are computed when it is read,
-- with the same definitions as customer_analytics (macros/customer_segments.sql).
-- One select, no CTE: a reader's filter on partner_id uses the table's index.

select
    partner_id,
    customer_id as user_id,
    first_partner_order_date,
    first_order_date,
    last_order_date,
    total_orders,
    completed_orders,
    lifetime_value,
    {{ days_since_last_order() }} as days_since_last_order,
    {{ customer_segment() }} as customer_segment,
    {{ customer_churn_risk_score() }} as churn_risk_score,
    {{ is_at_churn_risk() }} as is_at_churn_risk,
    {{ as_of_date() }} as as_of_date,
    refreshed_at
from {{ ref('int_partner_customers') }}
