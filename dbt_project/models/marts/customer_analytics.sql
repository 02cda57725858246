{{ config(materialized='view') }}

-- One row per customer with at least one order (docs/metrics.md, customer_analytics).
-- A view over int_customer_order_summary, which the runs keep current by deltas
-- (the customers whose orders changed). The columns that move with the calendar
-- (days since last order, segment, churn risk score and flag, as_of_date) are
-- computed here, at read time, as of var as_of_date or else today's local date
-- (macros/customer_segments.sql, shared with agg_customers_daily): no run
-- rewrites every customer because a day passed, and they are never a day old.
-- One select, no CTE: PostgreSQL flattens it into the query that reads it, so a
-- reader's filter, join or order by lifetime_value uses the summary's indexes (a
-- view with a WITH clause is planned apart: a sort of every customer per request).

select
    customer_id as user_id,
    total_orders,
    completed_orders,
    cancelled_orders,
    total_spent,
    lifetime_value,
    round(total_spent / nullif(paid_orders, 0), 2)::numeric(12, 2) as average_order_value,
    first_order_date,
    last_order_date,
    {{ days_since_last_order() }} as days_since_last_order,
    {{ order_frequency_days() }} as order_frequency_days,
    {{ customer_segment() }} as customer_segment,
    favorite_service_category,
    preferred_payment_method,
    average_rating_given::numeric(3, 2) as average_rating_given,
    {{ customer_churn_risk_score() }} as churn_risk_score,
    {{ is_at_churn_risk() }} as is_at_churn_risk,
    {{ as_of_date() }} as as_of_date,
    refreshed_at
from {{ ref('int_customer_order_summary') }}
