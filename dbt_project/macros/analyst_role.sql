{#
  The read-only analyst role (issue: analyst access). Runs on every dbt invocation
  (on-run-start): creates the role when missing, without LOGIN (whether it may log
  in is decided outside dbt, so a password never appears in dbt's logs: see
  laundry_analytics/database.py), and lets it use the analytics schema. SELECT on
  each mart comes from the `grants:` config of models/marts, so a rebuilt table is
  granted again; staging, intermediate and ops get nothing.

  Then it takes from PUBLIC, on the warehouse database, what PostgreSQL gives
  every role and an analyst must not have: TEMP (temporary tables); CREATE on
  schema public (PostgreSQL 15+ no longer grants it in new databases, but a
  database created before, or upgraded from an older server, still has it); and
  the large-object functions (lo_create, lo_put, ...: they store data in the
  database). The dbt user keeps what it needs as the owner or a superuser. Each
  revoke runs only where the dbt user may make it and only while the privilege is
  still there, so a run on a server whose DBA owns the database changes nothing
  and warns of nothing: the DBA applies the same statements (README).
#}
{% macro ensure_analyst_role() %}
  {% set role = env_var('LAUNDRY_ANALYST_ROLE', 'analyst') %}
  {% set schema = env_var('LAUNDRY_ANALYTICS_SCHEMA', 'analytics') %}
  do $$
  declare
    is_superuser boolean := (select rolsuper from pg_roles where rolname = current_user);
    large_object_function regprocedure;
  begin
    begin
      if not exists (select from pg_roles where rolname = '{{ role }}') then
        create role "{{ role }}" nologin;
      end if;
    exception when duplicate_object or unique_violation then
      null;  -- created concurrently by another process
    end;
    if (is_superuser or pg_has_role((select datdba from pg_database where datname = current_database()), 'member'))
       and has_database_privilege('public', current_database(), 'temporary') then
      execute format('revoke temporary on database %I from public', current_database());
    end if;
    if (is_superuser or pg_has_role((select nspowner from pg_namespace where nspname = 'public'), 'member'))
       and has_schema_privilege('public', 'public', 'create') then
      revoke create on schema public from public;
    end if;
    if is_superuser then  -- the functions of pg_catalog belong to the bootstrap superuser
      for large_object_function in
        select oid::regprocedure from pg_proc
        where pronamespace = 'pg_catalog'::regnamespace
          and (proname like 'lo\_%' or proname in ('loread', 'lowrite'))
          and has_function_privilege('public', oid, 'execute')
      loop
        execute format('revoke execute on function %s from public', large_object_function);
      end loop;
    end if;
  end
  $$;
  create schema if not exists "{{ schema }}";
  grant usage on schema "{{ schema }}" to "{{ role }}";
{% endmacro %}
