{#
  The read-only analyst role (issue: analyst access). Runs on every dbt invocation
  (on-run-start): creates the role when missing and lets it use the analytics
  schema. SELECT on each mart comes from the `grants:` config of models/marts, so
  a rebuilt table is granted again; staging, intermediate and ops get nothing.
#}
{% macro ensure_analyst_role() %}
  {% set role = env_var('LAUNDRY_ANALYST_ROLE', 'analyst') %}
  {% set schema = env_var('LAUNDRY_ANALYTICS_SCHEMA', 'analytics') %}
  do $$
  begin
    if not exists (select from pg_roles where rolname = '{{ role }}') then
      create role "{{ role }}" login;
    end if;
  exception when duplicate_object or unique_violation then
    null;  -- created concurrently by another dbt process
  end
  $$;
  create schema if not exists "{{ schema }}";
  grant usage on schema "{{ schema }}" to "{{ role }}";
{% endmacro %}
