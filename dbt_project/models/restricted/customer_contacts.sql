{{ config(materialized='view') }}

-- Raw customer contacts, for report schedules explicitly allowed to show PII
-- (report_schedules.allow_pii). Lives in its own schema with no grant to the
-- analyst role: analysts and every other report see dim_customers (masked).
-- A view, like dim_customers (and for the same reasons one select, no CTE): always
-- the current ops row, never a copy to refresh.

select
    user_id,
    email,
    full_name,
    phone
from {{ ref('base_ops__users') }}
