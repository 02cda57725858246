{{
    config(
        materialized='incremental',
        tags=['daily_partitioned'],
        unique_key='date',
        incremental_strategy='replace_keys',
        insert_where='partner_id is not null',
        on_schema_change='fail',
        indexes=[
            {'columns': ['partner_id', 'date'], 'unique': true},
            {'columns': ['date']},
            {'columns': ['average_rating']},
        ],
    )
}}

-- One row per (partner, order date) with at least one order (docs/metrics.md,
-- partner_performance_metrics). Durations are averaged over orders whose two
-- timestamps are set and ordered (negative durations are NULL in fct_orders).
-- Incremental: replaces every row of the order dates of fct_orders rows refreshed
-- since this model's last run (strategy replace_keys on date; a date whose rows all
-- vanished, e.g. its only order lost its partner, is emptied by a NULL-partner
-- tombstone row that is never inserted). With vars partition_start / partition_end
-- (a Dagster partition or backfill range) it replaces exactly the dates of that window.

with

orders as (
    select * from {{ ref('fct_orders') }}
),

partners as (
    select * from {{ ref('stg_ops__partners') }}
),

{% set window = partition_window() %}
{% if window is not none %}
dates_to_build as (
    -- A partition window (Dagster): exactly its dates.
    select day::date as date from generate_series({{ window[0] }}, {{ window[1] }} - 1, interval '1 day') as day
),
{% elif is_incremental() %}
dates_to_build as (
    select distinct order_date as date
    from orders
    where {{ refreshed_since_last_run(applied_column='changes_applied_through') }}
),
{% endif %}

per_partner_date as (
    select
        partner_id,
        order_date as date,
        count(*) as orders_received,
        count(*) filter (where is_accepted) as orders_accepted,
        count(*) filter (where status = 'rejected') as orders_rejected,
        count(*) filter (where status = 'completed') as orders_completed,
        count(*) filter (where status = 'cancelled') as orders_cancelled,
        sum(captured_amount) as revenue,
        {{ avg2('acceptance_minutes') }} as avg_acceptance_minutes,
        {{ avg2('pickup_minutes') }} as avg_pickup_minutes,
        {{ avg2('processing_minutes') }} as avg_processing_minutes,
        {{ avg2('delivery_minutes') }} as avg_delivery_minutes,
        {{ avg2('total_minutes') }} as avg_total_minutes,
        {{ avg2('rating') }} as average_rating,
        sum(rating_count) as rating_count,
        sum(issues_reported) as issues_reported,
        sum(items_damaged) as items_damaged,
        sum(items_lost) as items_lost
    from orders
    where
        partner_id is not null
        {% if is_incremental() %}
        and order_date in (select date from dates_to_build)
        {% endif %}
    group by partner_id, order_date
),

batch as (
    select * from per_partner_date
    {% if is_incremental() %}
    union all
    -- Tombstones: replace_keys deletes every row of these dates, inserts none of these.
    select
        -- A union's columns are named by its first select.
        -- noqa: disable=AL03
        null, date, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null
        -- noqa: enable=AL03
    from dates_to_build
    {% endif %}
),

final as (
    select
        per_partner_date.partner_id,
        per_partner_date.date,
        orders_received::int as orders_received,
        orders_accepted::int as orders_accepted,
        orders_rejected::int as orders_rejected,
        orders_completed::int as orders_completed,
        orders_cancelled::int as orders_cancelled,
        -- Typed as the contract says: the tombstones' NULLs would leave them untyped.
        revenue::numeric(12, 2) as revenue,
        avg_acceptance_minutes::numeric(12, 2) as avg_acceptance_minutes,
        avg_pickup_minutes::numeric(12, 2) as avg_pickup_minutes,
        avg_processing_minutes::numeric(12, 2) as avg_processing_minutes,
        avg_delivery_minutes::numeric(12, 2) as avg_delivery_minutes,
        avg_total_minutes::numeric(12, 2) as avg_total_minutes,
        average_rating::numeric(3, 2) as average_rating,
        rating_count::int as rating_count,
        issues_reported::int as issues_reported,
        items_damaged::int as items_damaged,
        items_lost::int as items_lost,
        -- Can exceed 100 (more accepted than the stated capacity): numeric(7,2), not (5,2).
        round(100.0 * orders_accepted / nullif(partners.daily_capacity, 0), 2)::numeric(7, 2) as capacity_utilization,
        {{ rate('orders_accepted', 'orders_received') }} as acceptance_rate,
        {{ rate('orders_completed', 'orders_accepted') }} as completion_rate,
        {{ rate('orders_rejected', 'orders_received') }} as rejection_rate,
        '{{ run_started_at }}'::timestamptz as refreshed_at,
        {{ changes_applied_through() }} as changes_applied_through
    from batch as per_partner_date
    left join partners on partners.partner_id = per_partner_date.partner_id
)

select * from final
