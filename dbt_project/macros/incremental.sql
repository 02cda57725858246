{#- Incremental refresh helpers. The rule (docs/metrics.md): an incremental run gives
    exactly the rows a full refresh gives, however late a change arrives. -#}

{#- The largest value of timestamptz `column` in this model's table, as a SQL
    literal ('-infinity' for an empty table), read when the model runs. A literal,
    not a subquery: PostgreSQL then estimates `ts > literal` from the column's
    statistics (a few thousand changed rows) instead of guessing a third of the
    table; at 10M orders that guess turned fct_orders' index lookups into nested
    loops that ran for hours. Microseconds since the epoch keep it exact. -#}
{#- A timestamptz SQL literal from microseconds since the epoch (exact, and read by
    the planner as a constant). -#}
{%- macro micros_literal(micros) -%}
    (timestamptz 'epoch' + {{ micros | int }} * interval '1 microsecond')
{%- endmacro -%}

{%- macro max_timestamp_literal(column) -%}
    {%- if execute -%}
        {%- set micros = run_query(
            "select (extract(epoch from max(" ~ column ~ ")) * 1000000)::bigint from " ~ this
        ).columns[0].values()[0] -%}
        {%- if micros is none -%}
    '-infinity'::timestamptz
        {%- else -%}
    {{ micros_literal(micros) }}
        {%- endif -%}
    {%- else -%}
    (select coalesce(max({{ column }}), '-infinity'::timestamptz) from {{ this }})
    {%- endif -%}
{%- endmacro -%}

{#- Where an incremental run starts reading ops changes (source timestamps after
    it): the earlier of the latest `column` value this model's table holds and the
    read point its previous run recorded (read_point_for_next_run), minus var
    `clock_skew_minutes` (writers whose clocks run behind the database's). Before
    any read point is recorded (a warehouse built by an older version): the latest
    `column` value minus var `late_arrival_minutes`, as that version did. -#}
{%- macro watermark(column) -%}
    {%- set recorded = none -%}
    {%- if execute -%}
        {#- to_jsonb: a warehouse of an older version has no such column yet -#}
        {%- set values = run_query(
            "select (extract(epoch from (to_jsonb(r) ->> 'next_read_from')::timestamptz) * 1000000)::bigint"
            ~ " from " ~ mart_refreshes_relation() ~ " as r where model = '" ~ this.name ~ "'"
        ).columns[0].values() -%}
        {%- set recorded = values[0] if values else none -%}
    {%- endif -%}
    {%- if recorded is none -%}
    ({{ max_timestamp_literal(column) }} - interval '{{ var("late_arrival_minutes") }} minutes')
    {%- else -%}
    (least({{ max_timestamp_literal(column) }}, {{ micros_literal(recorded) }})
     - interval '{{ var("clock_skew_minutes") }} minutes')
    {%- endif -%}
{%- endmacro -%}

{#- Pre-hook of a model that reads ops changes by watermark (fct_orders): the read
    point its next run starts from, taken before the model reads ops. A row this run
    cannot see was written by a transaction still open when it read, or begun after,
    so its timestamp is no earlier than the oldest open transaction's start: the read
    point is the earlier of that and now. A transaction open longer than var
    `late_arrival_minutes` does not hold it back further (an idle session left in a
    transaction would otherwise make every run re-read everything since); that is
    also the margin used when this role cannot see other sessions' transactions
    (neither superuser nor member of pg_read_all_stats). record_data_as_of stores
    it in mart_refreshes.next_read_from, in the model's transaction. -#}
{%- macro read_point_for_next_run() -%}
    select set_config('laundry.next_read_from', (
        case when pg_has_role(current_user, 'pg_read_all_stats', 'member') then
            greatest(
                least(now(), (select min(xact_start) from pg_stat_activity
                              where datname = current_database() and backend_type = 'client backend')),
                now() - interval '{{ var("late_arrival_minutes") }} minutes')
        else now() - interval '{{ var("late_arrival_minutes") }} minutes'
        end)::text, true)
{%- endmacro -%}

{#- delete+insert by unique_key, where the batch may hold "tombstone" rows: every
    key present in the batch is replaced, but only rows matching the model's
    `insert_where` config are inserted. Lets a model empty a key that no longer
    has rows (a partner and date left with no order). The key may be a column
    list ("partner_id, date"): it is compared as a row. -#}
{% macro get_incremental_replace_keys_sql(arg_dict) %}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set batch = arg_dict["temp_relation"] -%}
    {%- set key = arg_dict["unique_key"] -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    delete from {{ target }} where ({{ key }}) in (select {{ key }} from {{ batch }});
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ batch }} where {{ config.get("insert_where", "true") }};
{% endmacro %}

{#- True for fct_orders rows recomputed after this (downstream) model's last run:
    the orders whose dates or customers this model must rebuild. Both sides are dbt
    run_started_at values, so the comparison never mixes clocks. A model that can
    also be rebuilt by partition window keeps its own `applied_column` (see
    changes_applied_through), since a window run absorbs no change outside it. -#}
{%- macro refreshed_since_last_run(refreshed_at='refreshed_at', applied_column='refreshed_at') -%}
    {{ refreshed_at }} > {{ max_timestamp_literal(applied_column) }}
{%- endmacro -%}

{#- The partition window Dagster passes to the daily-partitioned marts, as vars
    `partition_start` and `partition_end` (ISO dates in the business time zone, end
    exclusive): [start, end] quoted as SQL dates, or none when no window was given.
    On an incremental run with a window the model rebuilds exactly those dates; a
    first build (or --full-refresh) always builds every date. -#}
{%- macro partition_window() -%}
    {%- set start, end = var('partition_start', none), var('partition_end', none) -%}
    {%- if (start is none) != (end is none) -%}
        {{ exceptions.raise_compiler_error("pass both vars partition_start and partition_end, or neither") }}
    {%- endif -%}
    {%- if start is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', start ~ '') is none
           or modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', end ~ '') is none -%}
        {{ exceptions.raise_compiler_error("partition_start / partition_end must be dates as YYYY-MM-DD, got " ~ start ~ " / " ~ end) }}
    {%- endif -%}
    {{ return(["'" ~ start ~ "'::date", "'" ~ end ~ "'::date"]) }}
{%- endmacro -%}

{#- Column value for `changes_applied_through` of a partition-capable mart: the
    instant up to which every fct_orders change is reflected in the whole table.
    A change-driven run applies all changes up to its start; a window run applies
    none outside its window, so it carries the previous value forward, and the
    next change-driven run still rebuilds the dates a window run skipped. -#}
{%- macro changes_applied_through() -%}
    {%- if partition_window() is not none -%}
    (select max(changes_applied_through) from {{ this }})
    {%- else -%}
    '{{ run_started_at }}'::timestamptz
    {%- endif -%}
{%- endmacro -%}

{#- The rows of `relation` (a staging model with an order_id) that belong to the
    orders in CTE `orders_cte`, on an incremental run; all of `relation` otherwise.
    A LATERAL lookup per order lets Postgres push `order_id = …` into the staging
    view (through its dedup window, which partitions by order_id) and use the
    source's order_id index, instead of scanning and deduplicating the whole table
    (1M payments: 40 ms for 8,000 orders instead of 1.8 s). -#}
{%- macro rows_of_orders(relation, orders_cte) -%}
    {%- if is_incremental() -%}
    (select rows_of_order.*
     from {{ orders_cte }}
     cross join lateral (
         -- offset 0 keeps the planner from flattening this into a hash join over the whole table
         select * from {{ relation }} as r where r.order_id = {{ orders_cte }}.order_id offset 0
     ) as rows_of_order)
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro -%}

{#- The rows of `relation` (a mart with a `refreshed_at` column) whose `key` has a
    row refreshed since this model's last run, on an incremental run; all of
    `relation` otherwise. For summaries keyed by an immutable attribute (an order
    never changes date): every summary row of such a key is rebuilt whole. -#}
{%- macro rows_of_refreshed_keys(relation, key) -%}
    {%- if is_incremental() -%}
    (select * from {{ relation }}
     where {{ key }} in (select {{ key }} from {{ relation }} where {{ refreshed_since_last_run() }}))
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro -%}

{#- Post-hook of every model (dbt_project.yml): fresh planner statistics for a
    table just written. An incremental run's new rows (this run's refreshed_at) are
    invisible to the statistics of the previous build, so the next model estimated
    "rows refreshed since my last run" at 1 row and chose nested loops that
    rescanned a hash of every changed order once per changed order (fct_order_items
    at 10M orders: more than ten minutes). ANALYZE samples ~30k rows: about a
    second on the largest table. Views have no statistics of their own. -#}
{%- macro refresh_statistics() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
    analyze {{ this }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro -%}

{#- on-run-end (outside any transaction): one VACUUM (ANALYZE) of the tables the query
    API reads with index-only scans (models with meta vacuum_at_run_end:
    partner_performance_metrics' and agg_partner_periods' covering indexes, the
    customer summary's last_order_date) that this invocation built. VACUUM sets the
    visibility map of the pages a run wrote, so those scans do not fetch every row
    from the heap: right after the 10M build, partner totals over 30 days made 85k
    heap fetches (0.32 s) without it, none (0.12 s) with it. It runs once every model
    is done, not as each model's post-hook: while another model of the same run was
    still in its transaction (dbt runs two threads), a post-hook VACUUM could neither
    remove the rows the run had replaced nor mark its pages all-visible, so after
    each run 40% of the range's rows still came from the heap. Renders nothing when
    no such model was built, and for commands that build nothing (compile, docs
    generate, test: their results say success too). -#}
{%- macro vacuum_for_index_only_reads(results) -%}
    {%- set tables = [] -%}
    {%- for result in results
        if flags.WHICH in ('run', 'build')
        and result.node.resource_type == 'model' and result.status == 'success'
        and result.node.config.meta.get('vacuum_at_run_end') -%}
        {%- do tables.append(adapter.quote(result.node.schema) ~ '.' ~ adapter.quote(result.node.alias)) -%}
    {%- endfor -%}
    {%- if tables -%}
    vacuum (analyze) {{ tables | join(', ') }}
    {%- endif -%}
{%- endmacro -%}
