{{
    config(
        materialized='incremental',
        unique_key='first_order_date',
        incremental_strategy='replace_keys',
        insert_where='customers is not null',
        meta={'delta_of': 'fct_orders'},
        post_hook=["{{ record_deltas_applied() }}"],
        on_schema_change='fail',
        indexes=[{'columns': ['first_order_date']}],
    )
}}

-- Customers of customer_analytics counted per (first order date, segment, churn
-- risk flag), with the sum of their lifetime value: what the query API adds up for
-- "customers acquired by the end of a range" over all partners instead of reading
-- every customer. The counts are as of one as_of_date (the payloads say which).
-- Segments and churn flags move with the calendar, so the first run on a new
-- as_of_date (the nightly run, or the first intraday run after midnight) recounts
-- every customer. Within a day, a run recounts only the first order dates of the
-- customers whose orders changed since its last run (the fct_orders changes,
-- macros/deltas.sql): each such customer's first order date now, and the one it
-- had before (the earliest of its orders that are not new since that run: an
-- order never changes date or customer, so a customer's first order date only
-- moves earlier, when an order with an earlier date arrives). replace_keys
-- replaces every row of those dates; a date left with no customer is deleted.

-- depends_on: {{ ref('int_customer_order_summary') }}
{%- set since = deltas_since(ref('fct_orders')) %}
{%- if since is not none and execute -%}
    {%- set same_day = run_query(
        "select bool_and(as_of_date = " ~ as_of_date() ~ ") from " ~ this
    ).columns[0].values()[0] -%}
    {%- if not same_day -%}
        {%- set since = none -%}
    {%- endif -%}
{%- endif %}

with

{% if since is not none %}
changes as (
    select * from {{ delta_rows(ref('fct_orders'), since) }} as orders
),

touched_customers as (
    select distinct customer_id from changes
),

new_orders as (
    select order_id from changes group by order_id having sum(change_sign) > 0
),

recounted_dates as (
    select customer_summary.first_order_date
    from {{ ref('int_customer_order_summary') }} as customer_summary
    inner join touched_customers on touched_customers.customer_id = customer_summary.customer_id
    union
    select min(orders.order_date)
    from {{ ref('fct_orders') }} as orders
    inner join touched_customers on touched_customers.customer_id = orders.customer_id
    where orders.order_id not in (select new_orders.order_id from new_orders)
    group by orders.customer_id
),

customers as (
    select * from {{ ref('customer_analytics') }}
    where first_order_date in (select recounted_dates.first_order_date from recounted_dates)
),
{% else %}
customers as (
    select * from {{ ref('customer_analytics') }}
),
{% endif %}

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
{%- if is_incremental() %}
union all
-- Every date recounted (all of them on a recount of every customer) is replaced
-- whole: these key-only rows make replace_keys delete a date that has none left.
select distinct first_order_date, null::text, null::boolean, null::int, null::numeric(14, 2), null::int, null::date
from {% if since is not none %}recounted_dates{% else %}{{ this }}{% endif %}
{%- endif %}
