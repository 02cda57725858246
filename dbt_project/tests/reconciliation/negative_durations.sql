-- Negative stage durations are source defects: excluded from the partner averages
-- and reported here (warn, so they never block the good rows).
{{ config(severity='warn') }}
select order_id, dq_reason
from {{ ref('fct_orders') }}
where has_negative_duration
