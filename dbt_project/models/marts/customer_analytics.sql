{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[
            {'columns': ['user_id'], 'unique': true},
            {'columns': ['lifetime_value']},
            {'columns': ['customer_segment']},
            {'columns': ['last_order_date']},
            {'columns': ['is_at_churn_risk']},
        ],
    )
}}

-- One row per customer with at least one order (docs/metrics.md, customer_analytics).
-- The order aggregates come from the incremental int_customer_order_summary; the
-- columns that move with as_of_date (recency, segment, churn) are computed here.
-- Incremental, once per as-of day: the first run for a new as_of_date recomputes
-- every customer (their recency moved); a later run for the same date (the
-- intraday refresh) recomputes only the customers whose summary was rebuilt since
-- this table's last run, so its cost follows the orders that changed.

{%- set whole_table = true -%}
{%- if is_incremental() and execute -%}
    {%- set dates = run_query(
        "select (" ~ as_of_date() ~ ")::text, (select max(as_of_date) from " ~ this ~ ")::text"
    ).rows[0] -%}
    {%- set whole_table = dates[0] != dates[1] -%}
{%- endif %}

with

summaries as (
    select * from {{ ref('int_customer_order_summary') }}
    {%- if not whole_table %}
    where {{ refreshed_since_last_run() }}
    {%- endif %}
),

with_recency as (
    select
        *,
        total_spent - total_refunded as lifetime_value,
        {{ as_of_date() }} - last_order_date as days_since_last_order,
        case
            when total_orders > 1
                then round((last_order_date - first_order_date)::numeric / (total_orders - 1), 2)
        end as order_frequency_days
    from summaries
),

final as (
    select
        customer_id as user_id,
        total_orders,
        completed_orders,
        cancelled_orders,
        total_spent,
        lifetime_value::numeric(12, 2) as lifetime_value,
        round(total_spent / nullif(paid_orders, 0), 2)::numeric(12, 2) as average_order_value,
        first_order_date,
        last_order_date,
        days_since_last_order,
        order_frequency_days::numeric(10, 2) as order_frequency_days,
        case
            when days_since_last_order > {{ var('churned_after_days') }} then 'churned'
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
        {{ churn_risk_score('days_since_last_order', 'order_frequency_days') }} as churn_risk_score,
        (
            {{ churn_risk_score('days_since_last_order', 'order_frequency_days') }}
            >= {{ var('churn_risk_threshold') }}
        ) as is_at_churn_risk,
        {{ as_of_date() }} as as_of_date,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from with_recency
)

select * from final
