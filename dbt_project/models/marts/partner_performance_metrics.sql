{{
    config(
        materialized='incremental',
        tags=['daily_partitioned'],
        unique_key='partner_id, date',
        incremental_strategy='replace_keys',
        insert_where='orders_received is not null',
        meta={'delta_of': 'fct_orders', 'vacuum_at_run_end': true},
        post_hook=["{{ record_deltas_applied() }}"],
        on_schema_change='fail',
        indexes=[
            {'columns': ['partner_id', 'date'], 'unique': true},
            {'columns': ['date']},
            {'columns': ['average_rating']},
            {'columns': ['date', 'partner_id', 'orders_received', 'orders_accepted', 'orders_completed',
                         'orders_rejected', 'revenue', 'average_rating', 'rating_count']},
        ],
    )
}}

{#- The last index covers what the query API adds up per partner over a range
    (laundry_analytics.analytics.aggregates.partner_totals): an index-only scan of
    the range's rows, in date order, instead of one heap page per row (30 days at
    10M orders: 145k rows, 0.43 s through the (partner_id, date) index). -#}

-- One row per (partner, order date) with at least one order (docs/metrics.md,
-- partner_performance_metrics). Durations are averaged over orders whose two
-- timestamps are set and ordered (negative durations are NULL in fct_orders).
-- The figures are divided out of int_partner_orders_daily (sums and counts per
-- partner and order date, kept by deltas), not re-read from the orders.
-- Incremental: rebuilds exactly the (partner, date) pairs of the fct_orders changes
-- since its last run (macros/deltas.sql), whatever the length of history; a pair
-- left with no order (its only order moved to another partner) has no sums row and
-- is deleted (replace_keys inserts only pairs with orders). With vars
-- partition_start / partition_end (a Dagster partition or backfill range) it
-- rebuilds every pair of that window's dates instead; an incremental run that finds
-- no usable watermark (first run after an upgrade, fct_orders rebuilt whole)
-- rebuilds every pair.

{%- set since = deltas_since(ref('fct_orders')) %}
{%- set window = partition_window() %}
{%- set durations = ['acceptance', 'pickup', 'processing', 'delivery', 'total'] %}
{%- set sum_columns = ['orders_received', 'orders_accepted', 'orders_rejected', 'orders_completed',
    'orders_cancelled', 'revenue', 'rating_sum', 'rated_orders', 'rating_count', 'issues_reported',
    'items_damaged', 'items_lost'] %}
{%- for name in durations %}{% do sum_columns.extend([name ~ '_minutes_sum', name ~ '_minutes_count']) %}{% endfor %}

with

sums as (
    select * from {{ ref('int_partner_orders_daily') }}
),

partners as (
    select * from {{ ref('stg_ops__partners') }}
),

{% if is_incremental() %}
pairs_to_build as (
    {%- if window is none and since is not none %}
    select distinct partner_id, order_date as date
    from {{ delta_rows(ref('fct_orders'), since) }} as changes
    where partner_id is not null
    {%- else %}
    -- Every pair there is or was (of the window's dates).
    select partner_id, order_date as date from sums
    {%- if window is not none %} where order_date >= {{ window[0] }} and order_date < {{ window[1] }}{% endif %}
    union
    select partner_id, date from {{ this }}
    {%- if window is not none %} where date >= {{ window[0] }} and date < {{ window[1] }}{% endif %}
    {%- endif %}
),

per_partner_date as (
    select
        {%- for name in sum_columns %}
        sums.{{ name }},
        {%- endfor %}
        pairs_to_build.partner_id,
        pairs_to_build.date
    from pairs_to_build
    left join sums on sums.partner_id = pairs_to_build.partner_id and sums.order_date = pairs_to_build.date
),
{% else %}
per_partner_date as (
    select
        {%- for name in sum_columns %}
        {{ name }},
        {%- endfor %}
        partner_id,
        order_date as date
    from sums
),
{% endif %}

final as (
    select
        per_partner_date.partner_id,
        per_partner_date.date,
        orders_received,
        orders_accepted,
        orders_rejected,
        orders_completed,
        orders_cancelled,
        revenue::numeric(12, 2) as revenue,
        {%- for name in durations %}
        round({{ name }}_minutes_sum / nullif({{ name }}_minutes_count, 0), 2)::numeric(12, 2)
            as avg_{{ name }}_minutes,
        {%- endfor %}
        round(rating_sum / nullif(rated_orders, 0), 2)::numeric(3, 2) as average_rating,
        rating_count,
        issues_reported,
        items_damaged,
        items_lost,
        -- Can exceed 100 (more accepted than the stated capacity): numeric(7,2), not (5,2).
        round(100.0 * orders_accepted / nullif(partners.daily_capacity, 0), 2)::numeric(7, 2) as capacity_utilization,
        {{ rate('orders_accepted', 'orders_received') }} as acceptance_rate,
        {{ rate('orders_completed', 'orders_accepted') }} as completion_rate,
        {{ rate('orders_rejected', 'orders_received') }} as rejection_rate,
        '{{ run_started_at }}'::timestamptz as refreshed_at,
        {{ changes_applied_through() }} as changes_applied_through
    from per_partner_date
    left join partners on partners.partner_id = per_partner_date.partner_id
)

select * from final
