{#- What the query API adds up for one partner or city (see below): one column per payment method. -#}
{%- set method_amounts = [] -%}
{%- for method in var('payment_methods') -%}
{%- do method_amounts.append('captured_' ~ method ~ '_amount') -%}
{%- endfor -%}

{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='upsert_keeping_changes',
        pre_hook=["{{ reset_changes() }}", "{{ read_point_for_next_run() }}"],
        on_schema_change='fail',
        indexes=[
            {'columns': ['order_date', 'customer_id']},
            {'columns': ['customer_id']},
            {'columns': ['partner_id', 'order_date', 'order_day_of_week', 'status', 'order_hour', 'is_completed',
                         'is_cancelled', 'is_open', 'captured_payment_count', 'captured_amount']
                        + method_amounts
                        + ['refunded_amount', 'refund_count', 'acceptance_minutes', 'pickup_minutes',
                           'processing_minutes', 'delivery_minutes', 'total_minutes', 'customer_id']},
            {'columns': ['partner_id', 'customer_id', 'order_date']},
            {'columns': ['refreshed_at']},
            {'columns': ['last_changed_at']},
        ],
    )
}}

-- One row per order: the base of every order, revenue, partner and customer metric.
-- order_id is not in `indexes`: the contract's primary key already indexes it.
-- (order_date, customer_id) serves date ranges and, index only, the distinct
-- customers of a range; (partner_id, customer_id, order_date), index only, a
-- partner's customers by a date (the query API's one-partner customer figures).
-- (partner_id, order_date, ...) holds every column the query API adds up for one
-- partner or city (laundry_analytics.analytics.rows.order_rows) and its customers:
-- an index-only scan of that partner's range, in index order, instead of fetching
-- its orders from heap pages spread over the whole table (at 10M orders the largest
-- partner's year is ~470k orders on nearly every page). Index keys, not INCLUDE
-- columns: dbt's index config has no INCLUDE.
-- Incremental: recomputes the orders whose row, payments, refunds, review or issues
-- changed since the last run (source timestamps after the watermark), and keeps the
-- previous and new version of each in fct_orders_changes for the summaries that
-- are maintained by deltas (macros/deltas.sql).

with

{% if is_incremental() %}
{#- Read once: each watermark() call queries this table. -#}
{% set since = watermark('last_changed_at') %}
changed_orders as (
    select order_id from {{ ref('stg_ops__orders') }} where updated_at >= {{ since }}
    union
    select order_id from {{ ref('stg_ops__payments') }} where updated_at >= {{ since }}
    union
    select order_id from {{ ref('stg_ops__refunds') }} where updated_at >= {{ since }}
    union
    select order_id from {{ ref('stg_ops__reviews') }} where created_at >= {{ since }}
    union
    select order_id from {{ ref('stg_ops__order_issues') }} where created_at >= {{ since }}
),
{% endif %}

-- Materialized: computed once, then merge- or hash-joined to the per-order
-- aggregates below. Inlined, PostgreSQL nested the items aggregate inside the
-- per-order lookups and rescanned it for every changed order (at 10M orders and
-- 55k changes: 7 minutes instead of 5 seconds).
orders as materialized (
    select * from {{ rows_of_orders(ref('stg_ops__orders'), 'changed_orders') }} as orders
),

items as (
    select
        order_id,
        sum(quantity) as items_quantity,
        sum(line_total) as items_total
    from {{ rows_of_orders(ref('stg_ops__order_items'), 'changed_orders') }} as order_items
    where not is_excluded
    group by order_id
),

payments as (
    -- Captured payments (status completed), in total and by method. A captured
    -- payment of unknown method counts in the total but in no method column.
    select
        order_id,
        count(*) filter (where status = 'completed') as captured_payment_count,
        sum(amount) filter (where status = 'completed') as captured_amount,
        {%- for method in var('payment_methods') %}
        sum(amount) filter (where status = 'completed' and method = '{{ method }}') as captured_{{ method }}_amount,
        count(*) filter (where status = 'completed' and method = '{{ method }}') as captured_{{ method }}_payment_count,
        {%- endfor %}
        max(updated_at) as last_changed_at
    from {{ rows_of_orders(ref('stg_ops__payments'), 'changed_orders') }} as payments
    where not is_excluded
    group by order_id
),

refunds as (
    select
        order_id,
        count(*) filter (where status = 'completed') as refund_count,
        sum(amount) filter (where status = 'completed') as refunded_amount,
        max(updated_at) as last_changed_at
    from {{ rows_of_orders(ref('stg_ops__refunds'), 'changed_orders') }} as refunds
    where not is_excluded
    group by order_id
),

reviews as (
    select
        order_id,
        -- ops.reviews.order_id is unique; on a replica without that key, average.
        avg(rating)::numeric(3, 2) as rating,
        count(*) as rating_count,
        max(created_at) as last_changed_at
    from {{ rows_of_orders(ref('stg_ops__reviews'), 'changed_orders') }} as reviews
    where not is_excluded
    group by order_id
),

issues as (
    select
        order_id,
        count(*) as issues_reported,
        count(*) filter (where issue_type = 'damaged') as items_damaged,
        count(*) filter (where issue_type = 'lost') as items_lost,
        max(created_at) as last_changed_at
    from {{ rows_of_orders(ref('stg_ops__order_issues'), 'changed_orders') }} as order_issues
    where not is_excluded
    group by order_id
),

final as (
    select
        orders.order_id,
        orders.order_number,
        orders.customer_id,
        orders.partner_id,
        orders.status,
        {{ local_date('orders.created_at') }} as order_date,
        {{ local_hour('orders.created_at') }} as order_hour,
        {{ local_day_of_week('orders.created_at') }} as order_day_of_week,
        orders.created_at,
        orders.accepted_at,
        orders.rejected_at,
        orders.picked_up_at,
        orders.ready_at,
        orders.delivered_at,
        orders.cancelled_at,
        orders.status = 'completed' as is_completed,
        orders.status in ('cancelled', 'rejected') as is_cancelled,
        orders.status = 'rejected' as is_rejected,
        orders.status not in ('completed', 'cancelled', 'rejected') as is_open,
        orders.accepted_at is not null as is_accepted,
        orders.total_amount,
        coalesce(items.items_quantity, 0)::int as items_quantity,
        coalesce(items.items_total, 0)::numeric(12, 2) as items_total,
        coalesce(payments.captured_payment_count, 0)::int as captured_payment_count,
        coalesce(payments.captured_amount, 0)::numeric(12, 2) as captured_amount,
        {%- for method in var('payment_methods') %}
        coalesce(payments.captured_{{ method }}_amount, 0)::numeric(12, 2) as captured_{{ method }}_amount,
        {%- endfor %}
        {%- for method in var('payment_methods') %}
        coalesce(payments.captured_{{ method }}_payment_count, 0)::int as captured_{{ method }}_payment_count,
        {%- endfor %}
        coalesce(refunds.refund_count, 0)::int as refund_count,
        coalesce(refunds.refunded_amount, 0)::numeric(12, 2) as refunded_amount,
        (coalesce(payments.captured_amount, 0) - coalesce(refunds.refunded_amount, 0))::numeric(12, 2) as net_amount,
        {{ minutes_between('orders.created_at', 'orders.accepted_at') }} as acceptance_minutes,
        {{ minutes_between('orders.accepted_at', 'orders.picked_up_at') }} as pickup_minutes,
        {{ minutes_between('orders.picked_up_at', 'orders.ready_at') }} as processing_minutes,
        {{ minutes_between('orders.ready_at', 'orders.delivered_at') }} as delivery_minutes,
        {{ minutes_between('orders.created_at', 'orders.delivered_at') }} as total_minutes,
        coalesce(orders.dq_reason like '%negative_duration%', false) as has_negative_duration,
        reviews.rating,
        coalesce(reviews.rating_count, 0)::int as rating_count,
        coalesce(issues.issues_reported, 0)::int as issues_reported,
        coalesce(issues.items_damaged, 0)::int as items_damaged,
        coalesce(issues.items_lost, 0)::int as items_lost,
        orders.dq_reason,
        greatest(
            orders.updated_at, payments.last_changed_at, refunds.last_changed_at,
            reviews.last_changed_at, issues.last_changed_at
        ) as last_changed_at,
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from orders
    left join items on items.order_id = orders.order_id
    left join payments on payments.order_id = orders.order_id
    left join refunds on refunds.order_id = orders.order_id
    left join reviews on reviews.order_id = orders.order_id
    left join issues on issues.order_id = orders.order_id
)

select * from final
