"""The tables of scheduled reports in the analytics schema (analysts can read
them): `report_schedules`, one row per schedule, and `report_deliveries`, the
ledger of every (schedule, period, recipient) (reports.ledger). The project
creates them (`ensure_tables`), once per process and database; the lists of
allowed values come from the code that defines them, and the report types from
the registry of payload types, whose constraint follows the registered types in
a database created before a type was added."""

from __future__ import annotations

import psycopg
from psycopg import sql

from laundry_analytics import analytics_schema
from reports.ledger import DELIVERY_STATUSES
from reports.periods import FREQUENCIES
from reports.render import FORMATS
from reports.schedule_validation import (
    CATCH_UP_POLICIES,
    DEFAULT_CATCH_UP_CAP,
    MAX_CATCH_UP_CAP,
    MAX_RECIPIENTS,
    report_types,
)

DDL = """
create table if not exists {schema}.report_schedules (
    schedule_id uuid primary key default gen_random_uuid(),
    name text not null unique check (length(trim(name)) between 1 and 200),
    description text not null default '',
    report_type text not null check (report_type in ({report_types})),
    frequency text not null check (frequency in ({frequencies})),
    day_of_week smallint check (day_of_week between 0 and 6),
    day_of_month smallint check (day_of_month between 1 and 31),
    time_of_day time not null,
    timezone text not null,
    recipients text[] not null check (cardinality(recipients) between 1 and {max_recipients}),
    format text not null check (format in ({formats})),
    filters jsonb not null default '{{}}',
    catch_up text not null default 'latest' check (catch_up in ({catch_up_policies})),
    catch_up_cap smallint not null default {default_cap} check (catch_up_cap between 1 and {max_cap}),
    send_if_empty boolean not null default false,
    allow_pii boolean not null default false,
    is_active boolean not null default true,
    last_run_at timestamptz,
    next_run_at timestamptz,
    created_by text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (frequency <> 'weekly' or day_of_week is not null),
    check (frequency not in ('monthly', 'quarterly') or day_of_month is not null)
);
create index if not exists report_schedules_due_idx on {schema}.report_schedules (is_active, next_run_at);

create table if not exists {schema}.report_deliveries (
    delivery_id bigint generated always as identity primary key,
    schedule_id uuid not null references {schema}.report_schedules on delete cascade,
    kind text not null default 'scheduled' check (kind in ('scheduled', 'manual')),
    period_start date not null,
    period_end date not null,
    recipient text not null,
    status text not null check (status in ({statuses})),
    attempts smallint not null default 0,
    error_class text,
    error text,
    message_id text,
    file_name text,
    format text,
    bytes bigint,
    sha256 text,
    rows integer,
    data_refreshed_at timestamptz,
    data_incomplete boolean not null default false,
    run_id text,
    scheduled_for timestamptz,
    created_at timestamptz not null default now(),
    claimed_at timestamptz not null default now(),
    next_attempt_at timestamptz,
    launches smallint not null default 0,
    finished_at timestamptz
);
-- Ledgers created before the retry states: add their columns and statuses once.
do $$ begin
    if not exists (select from pg_attribute where attrelid = '{schema}.report_deliveries'::regclass
                   and attname = 'next_attempt_at') then
        alter table {schema}.report_deliveries
            add column if not exists created_at timestamptz not null default now(),
            add column if not exists next_attempt_at timestamptz,
            add column if not exists launches smallint not null default 0,
            drop constraint if exists report_deliveries_status_check,
            add constraint report_deliveries_status_check check (status in ({statuses}));
        -- claims left by runs of the old code: relaunched once stale (its timeout was 10 minutes)
        update {schema}.report_deliveries set next_attempt_at = claimed_at + interval '10 minutes'
        where status = 'claimed';
    end if;
end $$;
create unique index if not exists report_deliveries_once_idx
    on {schema}.report_deliveries (schedule_id, period_start, recipient) where kind = 'scheduled';
create index if not exists report_deliveries_schedule_idx on {schema}.report_deliveries (schedule_id, claimed_at);
create index if not exists report_deliveries_open_idx on {schema}.report_deliveries (next_attempt_at)
    where status in ('queued', 'claimed', 'retrying');
"""


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create the schedule and delivery tables if missing, readable by analysts,
    with report_type allowing exactly the registered report types."""
    types = report_types()

    def create(c: psycopg.Connection) -> None:
        c.execute(
            sql.SQL(DDL).format(
                schema=analytics_schema.identifier(),
                report_types=_values(types),
                frequencies=_values(FREQUENCIES),
                formats=_values(FORMATS),
                catch_up_policies=_values(CATCH_UP_POLICIES),
                statuses=_values(DELIVERY_STATUSES),
                max_recipients=sql.Literal(MAX_RECIPIENTS),
                default_cap=sql.Literal(DEFAULT_CATCH_UP_CAP),
                max_cap=sql.Literal(MAX_CATCH_UP_CAP),
            )
        )
        analytics_schema.sync_allowed_values(c, "report_schedules", "report_type", types)
        analytics_schema.grant_to_analysts(c, "report_schedules", "report_deliveries")

    analytics_schema.ensure(conn, "report_tables", create, version=types)


def _values(values) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Literal, values))
