{#- How fresh each table of the warehouse is (docs/architecture.md, "Freshness").

    analytics.mart_refreshes has one row per table model: `data_as_of`, the instant
    up to which changes to the ops tables are reflected in it, and `refreshed_at`,
    when it was last written. A model that reads ops (through the staging views)
    reflects every change committed before its dbt invocation started
    (run_started_at: conservative, the model reads ops a little later); a model
    that reads other tables is as fresh as the stalest of them, whatever time it
    ran. A partition window run (a Dagster partition or backfill) rebuilds only its
    dates and applies no change outside them, so it leaves `data_as_of` as it was.
    A view (customer_analytics, dim_customers) is as fresh as the tables it reads
    when it is read: its row lists them in `reads` (through other views, down to
    tables; none when it reads only ops, live) and has no data_as_of of its own.

    The query API reports, for each payload, the oldest `data_as_of` of the marts
    it reads (laundry_analytics.freshness). -#}

{%- macro mart_refreshes_relation() -%}
    {{ adapter.quote(env_var('LAUNDRY_ANALYTICS_SCHEMA', 'analytics')) }}.mart_refreshes
{%- endmacro -%}

{#- The table, if missing. Also run by every post-hook below, so a model never fails
    on a missing table when the on-run-start hook did not complete (a dropped
    connection): its failure then stays the transient one that is retried. -#}
{% macro create_mart_refreshes() %}
    create schema if not exists {{ adapter.quote(env_var('LAUNDRY_ANALYTICS_SCHEMA', 'analytics')) }};
    create table if not exists {{ mart_refreshes_relation() }} (
        model text primary key,
        data_as_of timestamptz not null,
        refreshed_at timestamptz not null
    );
    alter table {{ mart_refreshes_relation() }} add column if not exists reads text[] not null default '{}';
    alter table {{ mart_refreshes_relation() }} alter column data_as_of drop not null;
    alter table {{ mart_refreshes_relation() }} add column if not exists next_read_from timestamptz;
{% endmacro %}

{#- on-run-start: the table, readable by the analyst role like every mart. -#}
{% macro ensure_mart_refreshes() %}
    {{ create_mart_refreshes() }}
    grant select on {{ mart_refreshes_relation() }} to {{ adapter.quote(env_var('LAUNDRY_ANALYST_ROLE', 'analyst')) }};
{% endmacro %}

{#- The tables (table or incremental models) a model reads, looking through views. -#}
{%- macro upstream_tables(node) -%}
    {%- set tables = [] -%}
    {%- for node_id in node.depends_on.nodes if node_id.startswith('model.') -%}
        {%- set upstream = graph.nodes[node_id] -%}
        {%- if upstream.config.materialized in ('table', 'incremental') -%}
            {%- do tables.append(upstream.name) -%}
        {%- else -%}
            {%- do tables.extend(upstream_tables(upstream)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(tables | unique | list) }}
{%- endmacro -%}

{#- post-hook of every model (dbt_project.yml), in the model's transaction. -#}
{#- The table and its columns are ensured once per invocation (on-run-start,
    ensure_mart_refreshes), not here: its ALTER TABLEs take an exclusive lock, so
    in a post-hook each model waited for every other open model transaction that
    had read the table, and the readers queued behind it (dim_partners, a copy of
    5,000 rows, took 12.9 s of a nightly run at 10M orders). -#}
{%- macro record_data_as_of() -%}
    {%- set tables = upstream_tables(model) -%}
    {%- if model.config.materialized == 'view' and model.fqn[1] != 'staging' -%}
    {#- A view users read (the staging views are read only by models). -#}
    insert into {{ mart_refreshes_relation() }} (model, data_as_of, refreshed_at, reads)
    values ('{{ this.name }}', null, now(), array[{% for t in tables %}'{{ t }}'{{ ', ' if not loop.last }}{% endfor %}]::text[])
    on conflict (model) do update set data_as_of = excluded.data_as_of, refreshed_at = excluded.refreshed_at, reads = excluded.reads
    {%- elif model.config.materialized not in ('table', 'incremental') -%}
    select 1
    {%- else -%}
    {%- set this_run -%}
        least(
            '{{ run_started_at }}'::timestamptz
            {%- if tables %},
            (select min(data_as_of) from {{ mart_refreshes_relation() }}
             where model in ('{{ tables | join("', '") }}'))
            {%- endif %}
        )
    {%- endset -%}
    insert into {{ mart_refreshes_relation() }} (model, data_as_of, refreshed_at, next_read_from)
    values (
        '{{ this.name }}',
        {%- if partition_window() is not none %}
        coalesce((select data_as_of from {{ mart_refreshes_relation() }} where model = '{{ this.name }}'), {{ this_run }}),
        {%- else %}
        {{ this_run }},
        {%- endif %}
        now(),
        nullif(current_setting('laundry.next_read_from', true), '')::timestamptz
    )
    on conflict (model) do update set data_as_of = excluded.data_as_of, refreshed_at = excluded.refreshed_at,
        reads = '{}', next_read_from = excluded.next_read_from
    {%- endif -%}
{%- endmacro -%}
