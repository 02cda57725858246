{#- Delta maintenance (docs/architecture.md, "Cost follows the change").

    A fact table (fct_orders, fct_order_items) is upserted with incremental strategy
    `upsert_keeping_changes`: in the model's transaction it copies the previous
    version of every row it replaces into `<fact>_changes` with change_sign -1, and
    the new version with change_sign +1, both stamped with the run's start
    (change_batch_at). A summary of the fact (config meta.delta_of: '<fact>') reads
    only the change rows after its own watermark and adds Σ change_sign × value to
    its rows (strategy `add_deltas`): an order's old contribution is subtracted and
    its new one added, so the cost follows the changed orders, not the history.

    Watermarks: analytics.delta_watermarks holds, per summary, the run start up to
    which it has applied its fact's changes, written in the summary's transaction.
    A summary recomputes itself whole when it has no watermark yet (first build,
    --full-refresh, upgrade) or when its fact was rebuilt whole after its watermark
    (every fact row refreshed later: a --full-refresh of the fact alone). Change
    rows every summary has applied are deleted when the fact next runs. -#}

{%- macro delta_watermarks_relation() -%}
    {{ adapter.quote(env_var('LAUNDRY_ANALYTICS_SCHEMA', 'analytics')) }}.delta_watermarks
{%- endmacro -%}

{%- macro changes_relation(fact) -%}
    {{ return(api.Relation.create(database=fact.database, schema=fact.schema, identifier=fact.identifier ~ '_changes')) }}
{%- endmacro -%}

{% macro create_delta_watermarks() %}
    create schema if not exists {{ adapter.quote(env_var('LAUNDRY_ANALYTICS_SCHEMA', 'analytics')) }};
    create table if not exists {{ delta_watermarks_relation() }} (
        model text primary key,
        fact text not null,
        applied_through timestamptz not null
    );
{% endmacro %}

{#- Pre-hook of a fact: a first build or --full-refresh starts a new change history
    (the fact's columns may have changed; every summary then recomputes itself). -#}
{%- macro reset_changes() -%}
    {%- if not is_incremental() -%}
    drop table if exists {{ changes_relation(this) }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro -%}

{#- The summaries of `fact_name` in this project (models with meta.delta_of). -#}
{%- macro delta_consumers(fact_name) -%}
    {%- set consumers = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
        {%- if (node.config.meta or {}).get('delta_of') == fact_name -%}
            {%- do consumers.append(node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(consumers) }}
{%- endmacro -%}

{#- delete+insert by unique_key that keeps the previous and the new version of each
    replaced row in `<fact>_changes`, in the same transaction. -#}
{% macro get_incremental_upsert_keeping_changes_sql(arg_dict) %}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set batch = arg_dict["temp_relation"] -%}
    {%- set key = arg_dict["unique_key"] -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    {%- set changes = changes_relation(target) -%}
    {%- set consumers = delta_consumers(target.identifier) -%}
    {{ create_delta_watermarks() }}
    create table if not exists {{ changes }} as
    select null::timestamptz as change_batch_at, null::smallint as change_sign, {{ columns }}
    from {{ target }} with no data;
    create index if not exists {{ changes.identifier }}_batch on {{ changes }} (change_batch_at);
    -- Changes every summary has applied (none while a summary has no watermark yet).
    delete from {{ changes }}
    where change_batch_at <= (
        select min(applied_through) from {{ delta_watermarks_relation() }}
        where model in ('{{ consumers | join("', '") }}')
        having count(*) = {{ consumers | length }}
    );
    insert into {{ changes }} (change_batch_at, change_sign, {{ columns }})
    select '{{ run_started_at }}'::timestamptz, -1, {{ columns }}
    from {{ target }} where {{ key }} in (select {{ key }} from {{ batch }});
    delete from {{ target }} where {{ key }} in (select {{ key }} from {{ batch }});
    insert into {{ target }} ({{ columns }}) select {{ columns }} from {{ batch }};
    insert into {{ changes }} (change_batch_at, change_sign, {{ columns }})
    select '{{ run_started_at }}'::timestamptz, 1, {{ columns }} from {{ batch }};
{% endmacro %}

{#- For a summary of `fact` (a relation): the watermark after which it applies the
    fact's change rows, as a SQL literal; none when it must recompute itself whole
    (not incremental, no watermark of this fact, or the fact rebuilt whole
    since). -#}
{%- macro deltas_since(fact) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select
            (extract(epoch from w.applied_through) * 1000000)::bigint,
            (select min(refreshed_at) from {{ fact }}) > w.applied_through,
            to_regclass('{{ changes_relation(fact) }}') is not null
        from (select 1) as one
        left join {{ delta_watermarks_relation() }} as w
            on w.model = '{{ this.name }}' and w.fact = '{{ fact.identifier }}'
    {%- endset -%}
    {%- do run_query(create_delta_watermarks()) -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- if row[0] is none or row[1] or not row[2] -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(micros_literal(row[0]) | trim) }}
{%- endmacro -%}

{#- The rows a summary of `fact` adds up, each with change_sign: on a delta run the
    fact's change rows after the summary's watermark (-1 old version, +1 new), on a
    whole recompute every fact row (+1). Bind it once per model:
    {% set since = deltas_since(ref('fct_orders')) %} -#}
{%- macro delta_rows(fact, since) -%}
    {%- if since is none -%}
    (select 1::smallint as change_sign, facts.* from {{ fact }} as facts)
    {%- else -%}
    (select * from {{ changes_relation(fact) }} where change_batch_at > {{ since }})
    {%- endif -%}
{%- endmacro -%}

{#- Post-hook of a summary: it has applied every change of its fact up to this
    run's start (in its transaction). A partition window run applies nothing
    outside its window and leaves the watermark as it was. -#}
{%- macro record_deltas_applied() -%}
    {%- set fact = (model.config.meta or {}).get('delta_of') -%}
    {%- if fact is none or partition_window() is not none -%}
    select 1
    {%- else -%}
    {{ create_delta_watermarks() }}
    insert into {{ delta_watermarks_relation() }} (model, fact, applied_through)
    values ('{{ this.name }}', '{{ fact }}', '{{ run_started_at }}'::timestamptz)
    on conflict (model) do update set fact = excluded.fact, applied_through = excluded.applied_through
    {%- endif -%}
{%- endmacro -%}

{#- Strategy of a summary whose batch holds signed sums per key (config delta_keys):
    on a delta run adds them to the matching rows, inserts the new keys and deletes
    the rows whose `delta_count` column fell to zero; on a whole recompute replaces
    the table. Columns named refreshed_at are overwritten, every other non-key
    column is added. Keys are matched with =, except those listed in config
    delta_nullable_keys, matched with IS NOT DISTINCT FROM (NULL is a value): that
    form cannot use an index or a hash join, so at 10M orders matching every key
    with it turned the update into a scan of the whole summary per changed row. -#}
{% macro get_incremental_add_deltas_sql(arg_dict) %}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set batch = arg_dict["temp_relation"] -%}
    {%- set names = arg_dict["dest_columns"] | map(attribute="name") | list -%}
    {%- set columns = get_quoted_csv(names) -%}
    {%- set keys = config.require("delta_keys") -%}
    {%- set count_column = config.require("delta_count") -%}
    {%- set fact = config.require("meta")["delta_of"] -%}
    {%- set nullable = config.get("delta_nullable_keys", []) -%}
    {%- set matches -%}
        {%- for key in keys %}{{ ' and ' if not loop.first }}t.{{ key }} {{ 'is not distinct from' if key in nullable else '=' }} b.{{ key }}{% endfor -%}
    {%- endset -%}
    {%- if deltas_since(ref(fact)) is none -%}
    delete from {{ target }};
    insert into {{ target }} ({{ columns }}) select {{ columns }} from {{ batch }} where {{ count_column }} <> 0;
    {%- else -%}
    update {{ target }} as t set
        {%- for name in names if name not in keys %}
        {{ name }} = {{ 'b.' ~ name if name == 'refreshed_at' else 't.' ~ name ~ ' + b.' ~ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ batch }} as b
    where {{ matches }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ batch }} as b
    where not exists (select 1 from {{ target }} as t where {{ matches }});
    delete from {{ target }} as t using {{ batch }} as b
    where {{ matches }} and t.{{ count_column }} = 0;
    {%- endif %}
{% endmacro %}
