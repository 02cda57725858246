{#- The signed sums of a partner's orders that its summaries keep (int_partner_orders_daily
    per order date, agg_partner_periods per day and week): one definition of each, over
    rows of delta_rows(fct_orders) carrying change_sign. `names` in the order wanted. -#}
{%- macro partner_order_sums(names) -%}
    {%- set sums = {
        'orders_received': 'sum(change_sign)::int',
        'orders_accepted': 'coalesce(sum(change_sign) filter (where is_accepted), 0)::int',
        'orders_rejected': "coalesce(sum(change_sign) filter (where status = 'rejected'), 0)::int",
        'orders_completed': "coalesce(sum(change_sign) filter (where status = 'completed'), 0)::int",
        'orders_cancelled': "coalesce(sum(change_sign) filter (where status = 'cancelled'), 0)::int",
        'revenue': 'sum(change_sign * captured_amount)::numeric(14, 2)',
        'rating_sum': 'coalesce(sum(change_sign * rating), 0)::numeric(14, 2)',
        'rated_orders': 'coalesce(sum(change_sign) filter (where rating is not null), 0)::int',
        'rating_count': 'sum(change_sign * rating_count)::int',
        'issues_reported': 'sum(change_sign * issues_reported)::int',
        'items_damaged': 'sum(change_sign * items_damaged)::int',
        'items_lost': 'sum(change_sign * items_lost)::int',
    } -%}
    {%- for name in names %}
        {{ sums[name] }} as {{ name }},
    {%- endfor %}
{%- endmacro -%}
