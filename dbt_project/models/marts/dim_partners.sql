-- One row per partner: the names and attributes the dashboards, the query API and
-- the reports show beside partner metrics (analysts need no access to ops).

with

partners as (
    select * from {{ ref('stg_ops__partners') }}
),

final as (
    select
        partner_id,
        business_name,
        city,
        daily_capacity,
        is_active,
        created_at
    from partners
)

select * from final
