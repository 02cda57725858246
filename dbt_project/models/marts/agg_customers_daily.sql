{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'int_customer_order_summary'},
        delta_keys=['first_order_date', 'customer_segment', 'is_at_churn_risk', 'as_of_date'],
        delta_count='customers',
        delta_nullable_keys=['is_at_churn_risk'],
        post_hook="{{ record_deltas_applied() }}",
        on_schema_change='fail',
        indexes=[{'columns': ['first_order_date']}],
    )
}}

-- Customers of customer_analytics counted per (first order date, segment, churn
-- risk flag), with the sum of their lifetime value: what the query API adds up for
-- "customers acquired by the end of a range" over all partners instead of reading
-- every customer. All rows are as of one as_of_date (the payloads say which),
-- pinned once per run. Segments and churn flags move with the calendar, so the
-- first run on a new as_of_date (the nightly run, or the first intraday run after
-- midnight) counts every customer again. Within a day a run counts only the
-- customers whose summary row changed since its last run, from the summary's
-- change rows (macros/deltas.sql): each one's previous version, with its segment
-- as of the same day, subtracted, and its new version added (add_deltas; a group
-- left with no customer is deleted). The segment and churn flag are the
-- customer_analytics view's own expressions (macros/customer_segments.sql).

{%- set since = deltas_since(ref('int_customer_order_summary')) %}
{%- set day = as_of_date() %}
{%- set recount = since is none %}
{%- if execute %}
    {%- set day = "date '" ~ run_query("select " ~ as_of_date()).columns[0].values()[0] ~ "'" %}
    {%- if since is not none %}
        {%- set recount = not run_query(
            "select coalesce(bool_and(as_of_date = " ~ day ~ "), false) from " ~ this
        ).columns[0].values()[0] %}
    {%- endif %}
{%- endif %}

with

customers as (
    {%- if recount %}
    select 1 as change_sign, customer_summary.*
    from {{ ref('int_customer_order_summary') }} as customer_summary
    {%- else %}
    select * from {{ delta_rows(ref('int_customer_order_summary'), since) }} as customer_changes
    {%- endif %}
),

segmented as (
    select
        change_sign,
        first_order_date,
        {{ customer_segment(day) }} as customer_segment,
        {{ is_at_churn_risk(day) }} as is_at_churn_risk,
        lifetime_value
    from customers
),

signed_counts as (
    select
        first_order_date,
        customer_segment,
        is_at_churn_risk,
        {{ day }} as as_of_date,
        sum(change_sign) as customers,
        sum(change_sign * lifetime_value) as lifetime_value,
        coalesce(sum(change_sign) filter (where lifetime_value is not null), 0) as lifetime_value_count
    from segmented
    group by first_order_date, customer_segment, is_at_churn_risk
    {%- if recount and since is not none %}
    union all
    -- A new day's count replaces every row counted as of an earlier day.
    select
        first_order_date,
        customer_segment,
        is_at_churn_risk,
        as_of_date,
        -customers as customers,
        -lifetime_value as lifetime_value,
        -lifetime_value_count as lifetime_value_count
    from {{ this }}
    {%- endif %}
),

final as (
    select
        first_order_date,
        customer_segment,
        is_at_churn_risk,
        sum(customers)::int as customers,
        coalesce(sum(lifetime_value), 0)::numeric(14, 2) as lifetime_value,
        sum(lifetime_value_count)::int as lifetime_value_count,
        as_of_date
    from signed_counts
    group by first_order_date, customer_segment, is_at_churn_risk, as_of_date
)

select * from final
