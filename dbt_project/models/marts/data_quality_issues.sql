{{ config(materialized='view') }}
-- Every defective source row and why: one row per (table, record, rule).
-- is_excluded tells whether the row is kept out of every metric or kept with a flag.
-- A view: always current, and no build ever rescans history to refresh it.
{#- (table, staging model, key, when the row last changed in the source,
    the row a possible_duplicate resembles) -#}
{%- set flagged_staging = [
    ('users', 'stg_ops__users', 'user_id', 'date_joined', 'null'),
    ('partners', 'stg_ops__partners', 'partner_id', 'created_at', 'null'),
    ('orders', 'stg_ops__orders', 'order_id', 'updated_at', 'null'),
    ('order_items', 'stg_ops__order_items', 'order_item_id', 'null::timestamptz', 'null'),
    ('payments', 'stg_ops__payments', 'payment_id', 'updated_at', 'resembles_payment_id'),
    ('refunds', 'stg_ops__refunds', 'refund_id', 'updated_at', 'null'),
    ('order_issues', 'stg_ops__order_issues', 'order_issue_id', 'created_at', 'null'),
] %}

with
{% for table_name, model, key, changed_at, resembles in flagged_staging %}
{{ table_name }}_flags as (
    select
        table_name, record_id, rule, is_excluded, detected_at,
        case when rule = 'possible_duplicate' then resembles end as related_record_id
    from (
        -- unnest() in the select list: written as a lateral join it cost the scans
        -- of orders and order_items their parallel workers.
        select
            '{{ table_name }}'::text as table_name,
            {{ key }}::text as record_id,
            unnest(string_to_array(dq_reason, ', ')) as rule,
            is_excluded,
            {{ changed_at }} as detected_at,
            {{ resembles }}::text as resembles
        from {{ ref(model) }}
        where dq_reason is not null
    ) as flags
),
{% endfor %}

amount_mismatches as (
    select
        'orders'::text as table_name, order_id::text as record_id, 'amount_mismatch' as rule,
        false as is_excluded, last_changed_at as detected_at, null::text as related_record_id
    from {{ ref('fct_orders') }}
    where total_amount <> items_total
),

{#- Orphans: a child row whose parent is missing (a replica without foreign keys).
    Children of missing orders are excluded (they join to nothing); an order with a
    missing customer or partner is kept and flagged. -#}
{%- set orphan_checks = [
    ('orders', 'stg_ops__orders', 'order_id', 'customer_id', 'stg_ops__users', 'user_id', false),
    ('orders', 'stg_ops__orders', 'order_id', 'partner_id', 'stg_ops__partners', 'partner_id', false),
    ('order_items', 'stg_ops__order_items', 'order_item_id', 'order_id', 'stg_ops__orders', 'order_id', true),
    ('payments', 'stg_ops__payments', 'payment_id', 'order_id', 'stg_ops__orders', 'order_id', true),
    ('refunds', 'stg_ops__refunds', 'refund_id', 'order_id', 'stg_ops__orders', 'order_id', true),
    ('reviews', 'stg_ops__reviews', 'review_id', 'order_id', 'stg_ops__orders', 'order_id', true),
    ('order_issues', 'stg_ops__order_issues', 'order_issue_id', 'order_id', 'stg_ops__orders', 'order_id', true),
] %}
{% for table_name, child, key, fk, parent, parent_key, excluded in orphan_checks %}
orphans_{{ loop.index }} as (
    select
        '{{ table_name }}'::text as table_name,
        child.{{ key }}::text as record_id,
        'orphan_{{ fk }}' as rule,
        {{ excluded }} as is_excluded,
        null::timestamptz as detected_at,
        null::text as related_record_id
    from {{ ref(child) }} as child
    where
        child.{{ fk }} is not null
        and not exists (select 1 from {{ ref(parent) }} as parent where parent.{{ parent_key }} = child.{{ fk }})
),
{% endfor %}

all_issues as (
    {% for table_name, model, key, changed_at, resembles in flagged_staging %}
    select * from {{ table_name }}_flags
    union all
    {% endfor %}
    {% for check in orphan_checks %}
    select * from orphans_{{ loop.index }}
    union all
    {% endfor %}
    select * from amount_mismatches
),

final as (
    select
        table_name,
        record_id,
        rule,
        is_excluded,
        -- error: the row is wrong and left out of every metric; warn: it counts,
        -- and someone may want to look at it.
        case when is_excluded then 'error' else 'warn' end as severity,
        related_record_id,
        detected_at
    from all_issues
)

select * from final
