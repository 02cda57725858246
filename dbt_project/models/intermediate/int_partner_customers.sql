{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='replace_keys',
        insert_where='partner_id is not null',
        meta={'delta_of': 'fct_orders'},
        post_hook=["{{ record_deltas_applied() }}", {'sql': "{{ vacuum_for_index_only_reads() }}", 'transaction': false}],
        on_schema_change='fail',
        indexes=[
            {'columns': ['partner_id', 'first_partner_order_date', 'first_order_date', 'last_order_date',
                         'total_orders', 'completed_orders', 'lifetime_value', 'customer_id']},
            {'columns': ['customer_id']},
        ],
    )
}}

{%- set since = deltas_since(ref('fct_orders')) %}

-- One row per partner and customer who ordered from it: the date of the customer's
-- first order with that partner, and the customer's own figures that the segment
-- and churn risk are computed from (int_customer_order_summary). The query API
-- reads one partner's customers from it (through the partner_customers view): an
-- index-only range scan of that partner's rows, instead of joining its customers
-- (~330k for the largest partner at 10M orders) to the summary of every customer.
-- The first index holds every column the API reads, in that order.
-- Incremental: the customers of the fct_orders changes since its last run
-- (macros/deltas.sql) have all their rows replaced, recomputed from their orders
-- and their summary row; every other customer's rows are untouched. A customer whose
-- orders all lost their partner keeps a batch row with partner_id null, which
-- deletes their rows and is not inserted (replace_keys, insert_where); a first
-- build (or --full-refresh) leaves those rows out. An order without a customer
-- matches no summary row.

with

pairs as (
    select
        partner_id,
        customer_id,
        min(order_date) as first_partner_order_date
    from {{ ref('fct_orders') }}
    {%- if since is not none %}
    where customer_id in (select changes.customer_id from {{ delta_rows(ref('fct_orders'), since) }} as changes)
    {%- endif %}
    group by partner_id, customer_id
)

select
    pairs.partner_id,
    pairs.customer_id,
    pairs.first_partner_order_date,
    customer_summary.first_order_date,
    customer_summary.last_order_date,
    customer_summary.total_orders,
    customer_summary.completed_orders,
    customer_summary.lifetime_value,
    '{{ run_started_at }}'::timestamptz as refreshed_at
from pairs
inner join {{ ref('int_customer_order_summary') }} as customer_summary
    on customer_summary.customer_id = pairs.customer_id
{%- if not is_incremental() %}
where pairs.partner_id is not null
{%- endif %}
