{#- Layers live in schemas named after them (staging, intermediate, analytics),
    not "<target schema>_<layer>": analysts and grants know these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
