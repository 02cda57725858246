-- ops.users renamed and trimmed, row by row: nothing here is computed across rows,
-- so a lookup by user_id through this view stays a primary-key lookup of ops.users.
-- The views that read users per request (dim_customers, customer_contacts) read
-- this; stg_ops__users adds the data-quality flags, which need every row.
-- One select, no CTE: PostgreSQL does not flatten a view that has a WITH clause
-- into the query reading it, so a join could not look a user up by key.

select
    id as user_id,
    nullif(trim(email), '') as email,
    nullif(trim(full_name), '') as full_name,
    nullif(trim(phone), '') as phone,
    date_joined,
    is_active,
    is_staff
from {{ source('ops', 'users') }}
