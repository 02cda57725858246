{#- Customer PII as every report and dashboard shows it unless a schedule is
    explicitly allowed to show it (docs/architecture.md, reports). Enough to recognise a
    customer you already know, not enough to contact one you do not. -#}

{#- jane.doe@example.com -> j***@example.com -#}
{%- macro mask_email(email) -%}
    case when {{ email }} like '%@%'
        then left({{ email }}, 1) || '***@' || split_part({{ email }}, '@', 2)
        when {{ email }} is not null then '***'
    end
{%- endmacro -%}

{#- Jane van Doe -> J*** v*** D*** -#}
{%- macro mask_name(full_name) -%}
    (select string_agg(left(word, 1) || '***', ' ' order by position)
     from regexp_split_to_table(trim({{ full_name }}), '\s+') with ordinality as words(word, position))
{%- endmacro -%}

{#- +1 555 0100 42 -> ***42 -#}
{%- macro mask_phone(phone) -%}
    case when {{ phone }} is not null then '***' || right(regexp_replace({{ phone }}, '\D', '', 'g'), 2) end
{%- endmacro -%}
