{{ config(materialized='view') }}

-- One row per user, with the PII masked (mask_* macros): what dashboards and
-- reports show beside customer metrics. The raw email, name and phone stay in ops.
-- A view over ops.users (through base_ops__users): ops.users has no updated_at, so
-- a table could only be kept current by rewriting every user on every run; read
-- per request, a report's top customers cost a primary-key lookup each, and the
-- masks always show the current ops row. One select, no CTE, so PostgreSQL
-- flattens it into the query that reads it (see base_ops__users).

select
    user_id,
    {{ mask_name('full_name') }} as masked_name,
    {{ mask_email('email') }} as masked_email,
    {{ mask_phone('phone') }} as masked_phone,
    date_joined,
    is_active
from {{ ref('base_ops__users') }}
