{#- The columns of customer_analytics that move with the calendar, computed from a
    row of int_customer_order_summary (its column names, unqualified) as of
    as_of_date(): one definition for the customer_analytics view and for
    agg_customers_daily, which counts the same segments from the summary's change
    rows (docs/metrics.md, customer_analytics). `as_of`: a SQL date to compute them
    as of instead (agg_customers_daily pins the day once per run). -#}

{%- macro days_since_last_order(as_of=none) -%}
    ({{ as_of or as_of_date() }} - last_order_date)
{%- endmacro -%}

{%- macro order_frequency_days() -%}
    (case
        when total_orders > 1
            then round((last_order_date - first_order_date)::numeric / (total_orders - 1), 2)
    end)::numeric(10, 2)
{%- endmacro -%}

{%- macro customer_segment(as_of=none) -%}
    case
        when {{ days_since_last_order(as_of) }} > {{ var('churned_after_days') }} then 'churned'
        when
            lifetime_value >= {{ var('vip_lifetime_value') }}
            or completed_orders >= {{ var('vip_completed_orders') }} then 'vip'
        when completed_orders >= {{ var('regular_completed_orders') }} then 'regular'
        when first_order_date >= {{ as_of or as_of_date() }} - {{ var('new_customer_days') }} then 'new'
        else 'occasional'
    end
{%- endmacro -%}

{%- macro customer_churn_risk_score(as_of=none) -%}
    {{ churn_risk_score(days_since_last_order(as_of), order_frequency_days()) }}
{%- endmacro -%}

{%- macro is_at_churn_risk(as_of=none) -%}
    ({{ customer_churn_risk_score(as_of) }} >= {{ var('churn_risk_threshold') }})
{%- endmacro -%}
