{{ config(materialized='view') }}

-- One row per customer with at least one order (docs/metrics.md, customer_analytics).
-- A view over int_customer_order_summary, which the runs keep current by deltas
-- (the customers whose orders changed). The columns that move with the calendar
-- (days since last order, segment, churn risk score and flag, as_of_date) are
-- computed here, at read time, as of var as_of_date or else today's local date: no
-- run rewrites every customer because a day passed, and they are never a day old.
-- One select, no CTE: PostgreSQL flattens it into the query that reads it, so a
-- reader's filter, join or order by lifetime_value uses the summary's indexes (a
-- view with a WITH clause is planned apart: a sort of every customer per request).

{%- set days_since_last_order -%}
({{ as_of_date() }} - last_order_date)
{%- endset -%}
{%- set order_frequency_days -%}
    (case
        when total_orders > 1
            then round((last_order_date - first_order_date)::numeric / (total_orders - 1), 2)
    end)::numeric(10, 2)
{%- endset %}

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
    {{ days_since_last_order }} as days_since_last_order,
    {{ order_frequency_days }} as order_frequency_days,
    case
        when {{ days_since_last_order }} > {{ var('churned_after_days') }} then 'churned'
        when
            lifetime_value >= {{ var('vip_lifetime_value') }}
            or completed_orders >= {{ var('vip_completed_orders') }} then 'vip'
        when completed_orders >= {{ var('regular_completed_orders') }} then 'regular'
        when first_order_date >= {{ as_of_date() }} - {{ var('new_customer_days') }} then 'new'
        else 'occasional'
    end as customer_segment,
    favorite_service_category,
    preferred_payment_method,
    average_rating_given::numeric(3, 2) as average_rating_given,
    {{ churn_risk_score(days_since_last_order, order_frequency_days) }} as churn_risk_score,
    (
        {{ churn_risk_score(days_since_last_order, order_frequency_days) }}
        >= {{ var('churn_risk_threshold') }}
    ) as is_at_churn_risk,
    {{ as_of_date() }} as as_of_date,
    refreshed_at
from {{ ref('int_customer_order_summary') }}
