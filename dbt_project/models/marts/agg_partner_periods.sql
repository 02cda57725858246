{{
    config(
        materialized='incremental',
        incremental_strategy='add_deltas',
        meta={'delta_of': 'fct_orders', 'vacuum_at_run_end': true},
        delta_keys=['partner_id', 'period', 'period_start'],
        delta_count='orders_received',
        post_hook=["{{ record_deltas_applied() }}"],
        on_schema_change='fail',
        indexes=[
            {'columns': ['partner_id', 'period', 'period_start'], 'unique': true},
            {'columns': ['period', 'period_start', 'partner_id', 'orders_received', 'orders_accepted',
                         'orders_completed', 'orders_rejected', 'revenue', 'rating_sum', 'rated_orders',
                         'rating_count']},
        ],
    )
}}

{#- The second index covers what the query API adds up per partner over a range
    (laundry_analytics.analytics.aggregates.partner_totals): an index-only scan of
    the range's whole weeks and edge days. -#}

{% set since = deltas_since(ref('fct_orders')) %}

-- Sums and counts of fct_orders per partner, twice: per order date (period 'day')
-- and per ISO week of the order date (period 'week', period_start its Monday). A
-- range's partner totals add up the week rows of its whole weeks and the day rows
-- of the days before the first and after the last of them: for 30 days at most 4
-- week rows and 9 day rows per partner instead of 30. The average rating is kept as
-- rating_sum / rated_orders, so a range's average is exact (not an average of
-- rounded daily averages). Orders with a partner only.
-- Incremental by deltas (macros/deltas.sql), like agg_orders_daily: each changed
-- order's old version subtracted from its day and week, its new one added.

with

orders_to_sum as (
    select * from {{ delta_rows(ref('fct_orders'), since) }} as orders
    where partner_id is not null
),

periods as (
    select 'day' as period
    union all
    select 'week' as period
),

by_period as (
    select
        orders_to_sum.*,
        periods.period,
        case
            when periods.period = 'day' then orders_to_sum.order_date
            else date_trunc('week', orders_to_sum.order_date)::date
        end as period_start
    from orders_to_sum
    cross join periods
),

final as (
    select
        partner_id,
        period,
        period_start,
        {{- partner_order_sums(['orders_received', 'orders_accepted', 'orders_completed', 'orders_rejected', 'revenue',
            'rating_sum', 'rated_orders', 'rating_count']) }}
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from by_period
    group by partner_id, period, period_start
)

select * from final
