-- Per order: its review (at most one) and its reported issues by type.
with orders as (
    select order_id from {{ ref('stg_ops__orders') }}
),

reviews as (
    select * from {{ ref('stg_ops__reviews') }} where not is_excluded
),

issues as (
    select * from {{ ref('stg_ops__order_issues') }} where not is_excluded
),

review_per_order as (
    select
        order_id,
        -- ops.reviews.order_id is unique; on a replica without that key, average.
        avg(rating) as rating,
        count(*) as rating_count,
        max(created_at) as reviewed_at
    from reviews
    group by order_id
),

issues_per_order as (
    select
        order_id,
        count(*) as issues_reported,
        count(*) filter (where issue_type = 'damaged') as items_damaged,
        count(*) filter (where issue_type = 'lost') as items_lost,
        max(created_at) as last_issue_at
    from issues
    group by order_id
),

final as (
    select
        orders.order_id,
        review_per_order.rating,
        coalesce(review_per_order.rating_count, 0) as rating_count,
        coalesce(issues_per_order.issues_reported, 0) as issues_reported,
        coalesce(issues_per_order.items_damaged, 0) as items_damaged,
        coalesce(issues_per_order.items_lost, 0) as items_lost,
        greatest(review_per_order.reviewed_at, issues_per_order.last_issue_at) as feedback_updated_at
    from orders
    left join review_per_order on review_per_order.order_id = orders.order_id
    left join issues_per_order on issues_per_order.order_id = orders.order_id
    where review_per_order.order_id is not null or issues_per_order.order_id is not null
)

select * from final
