-- The operational source contract (docs/architecture.md, "Operational source contract").
-- Idempotent: every statement is "if not exists". {schema} is replaced by the
-- configured ops schema name (quoted identifier).
--
-- Constraints are those a real operational database has: keys, foreign keys,
-- NOT NULL on structural columns, and CHECKs on what the application enforces at
-- the database (positive quantities, ratings 1-5). Status and method columns are
-- plain text without CHECKs, as in the original application, so unknown values can
-- and do arrive; the dbt staging layer normalises and flags them.

create schema if not exists {schema};

create table if not exists {schema}.users (
    id          uuid primary key,
    email       text,
    full_name   text,
    phone       text,
    date_joined timestamptz not null,
    is_active   boolean not null default true,
    is_staff    boolean not null default false
);

create table if not exists {schema}.partners (
    id             uuid primary key,
    business_name  text not null,
    city           text,
    daily_capacity integer check (daily_capacity is null or daily_capacity >= 0),
    is_active      boolean not null default true,
    created_at     timestamptz not null
);

create table if not exists {schema}.service_categories (
    id   uuid primary key,
    name text not null unique
);

create table if not exists {schema}.services (
    id          uuid primary key,
    category_id uuid not null references {schema}.service_categories (id),
    name        text not null,
    unit_price  numeric(10, 2) not null,
    is_active   boolean not null default true
);

create table if not exists {schema}.orders (
    id               uuid primary key,
    order_number     text not null unique,
    customer_id      uuid not null references {schema}.users (id),
    partner_id       uuid references {schema}.partners (id),
    status           text not null,
    total_amount     numeric(12, 2) not null,
    created_at       timestamptz not null,
    accepted_at      timestamptz,
    rejected_at      timestamptz,
    picked_up_at     timestamptz,
    ready_at         timestamptz,
    delivered_at     timestamptz,
    cancelled_at     timestamptz,
    updated_at       timestamptz not null
);

create table if not exists {schema}.order_items (
    id          uuid primary key,
    order_id    uuid not null references {schema}.orders (id),
    service_id  uuid not null references {schema}.services (id),
    quantity    integer not null check (quantity > 0),
    unit_price  numeric(10, 2) not null,
    line_total  numeric(12, 2) not null
);

create table if not exists {schema}.payments (
    id         uuid primary key,
    order_id   uuid not null references {schema}.orders (id),
    amount     numeric(12, 2) not null,
    method     text not null,
    status     text not null,
    created_at timestamptz not null,
    paid_at    timestamptz,
    updated_at timestamptz not null
);

create table if not exists {schema}.refunds (
    id         uuid primary key,
    order_id   uuid not null references {schema}.orders (id),
    payment_id uuid references {schema}.payments (id),
    amount     numeric(12, 2) not null,
    status     text not null,
    reason     text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists {schema}.reviews (
    id          uuid primary key,
    order_id    uuid not null unique references {schema}.orders (id),
    customer_id uuid not null references {schema}.users (id),
    partner_id  uuid not null references {schema}.partners (id),
    rating      integer not null check (rating between 1 and 5),
    comment     text,
    created_at  timestamptz not null
);

create table if not exists {schema}.order_issues (
    id          uuid primary key,
    order_id    uuid not null references {schema}.orders (id),
    issue_type  text not null,
    description text,
    created_at  timestamptz not null
);

-- What the incremental refreshes search by (watermarks) and join on.
create index if not exists orders_updated_at_idx on {schema}.orders (updated_at);
create index if not exists orders_customer_id_idx on {schema}.orders (customer_id);
create index if not exists orders_partner_id_idx on {schema}.orders (partner_id);
create index if not exists order_items_order_id_idx on {schema}.order_items (order_id);
create index if not exists payments_order_id_idx on {schema}.payments (order_id);
create index if not exists payments_updated_at_idx on {schema}.payments (updated_at);
create index if not exists refunds_order_id_idx on {schema}.refunds (order_id);
create index if not exists refunds_updated_at_idx on {schema}.refunds (updated_at);
create index if not exists reviews_created_at_idx on {schema}.reviews (created_at);
create index if not exists order_issues_order_id_idx on {schema}.order_issues (order_id);
create index if not exists order_issues_created_at_idx on {schema}.order_issues (created_at);
