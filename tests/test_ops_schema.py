"""The ops DDL is exactly the source contract and can be applied again safely."""

import psycopg
import pytest

from laundry_analytics import ops_schema

CONTRACT_COLUMNS = {
    "users": "id email full_name phone date_joined is_active is_staff",
    "partners": "id business_name city daily_capacity is_active created_at",
    "service_categories": "id name",
    "services": "id category_id name unit_price is_active",
    "orders": "id order_number customer_id partner_id status total_amount created_at accepted_at "
    "rejected_at picked_up_at ready_at delivered_at cancelled_at updated_at",
    "order_items": "id order_id service_id quantity unit_price line_total",
    "payments": "id order_id amount method status created_at paid_at updated_at",
    "refunds": "id order_id payment_id amount status reason created_at updated_at",
    "reviews": "id order_id customer_id partner_id rating comment created_at",
    "order_issues": "id order_id issue_type description created_at",
}


def test_ops_tables_have_exactly_the_contract_columns(conn):
    for table, columns in CONTRACT_COLUMNS.items():
        found = conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'ops' and table_name = %s order by ordinal_position",
            (table,),
        ).fetchall()
        assert [c for (c,) in found] == columns.split(), table


def test_ddl_is_idempotent_and_keeps_rows(conn):
    conn.execute("insert into ops.service_categories values (gen_random_uuid(), 'Ironing')")
    ops_schema.create_ops_schema(conn, "ops")
    ops_schema.create_ops_schema(conn, "ops")
    assert conn.execute("select count(*) from ops.service_categories").fetchone() == (1,)


def test_constraints_refuse_what_the_application_refuses(conn):
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("insert into ops.partners values (gen_random_uuid(), 'P', 'X', -1, true, now())")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "insert into ops.orders (id, order_number, customer_id, status, total_amount, created_at, updated_at) "
            "values (gen_random_uuid(), 'LC-1', gen_random_uuid(), 'pending', 10, now(), now())"
        )
