{#- Join the names of the rules that fire into one dq_reason (NULL when clean).
    `rules` is a list of (rule_name, sql_condition) pairs, in a stable order. -#}
{%- macro dq_reason(rules) -%}
    nullif(concat_ws(', '
    {%- for name, condition in rules %},
        case when {{ condition }} then '{{ name }}' end
    {%- endfor %}
    ), '')
{%- endmacro -%}
