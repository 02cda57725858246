"""A new payload type is one module and one registry entry: this module is that
module for a throw-away type, `refunds` (refunds over the range, from the order
aggregates), and registering it is enough for the command line, the cache, the
report schedules (their filters and report types), the marts a report waits for
and the report itself to know it. Unregistered, it is gone from all of them.

Data: the hand-built dataset of test_analytics_api, whose one refund is 5.00 on
O1 (Sparkle, 2026-07-09)."""

import contextlib
import datetime as dt
import json
from decimal import Decimal

import psycopg
import pytest

from laundry_analytics import cache
from laundry_analytics.analytics import registry
from laundry_analytics.analytics.aggregates import connection, every_day
from laundry_analytics.analytics.payload_type import ChartSpec, KpiSpec, PayloadType, ReportLayout, TableSpec
from laundry_analytics.analytics.rows import order_rows
from laundry_analytics.analytics.windows import make_window
from laundry_analytics.analytics_schema import compose
from laundry_analytics.dbt_runner import run_dbt
from laundry_cli.main import main
from reports import marts, schedule_validation, schedules
from reports.datasets import build_dataset
from reports.periods import Period
from reports.render import render

from test_analytics_api import BUBBLES, END, ROWS, SPARKLE, START

D = Decimal
TWO_DAYS = Period(dt.date.fromisoformat(START), dt.date.fromisoformat(END))
AFTER_THE_DATA = Period(dt.date(2026, 7, 11), dt.date(2026, 7, 11))


# --- the new type's module: its payload function and its record ----------------------------


def refunds(start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None) -> dict:
    """Refunds of the range's orders: count and amount, and per day."""
    with connection(conn) as c:
        w = make_window(start, end, partner_id, conn=c)
        days = {
            row.pop("order_date"): row
            for row in c.execute(
                compose(
                    """
            select order_date, coalesce(sum(refund_count), 0)::int as refunds,
                   coalesce(sum(refunded_amount), 0) as refunded
            from {rows} group by order_date
        """,
                    rows=order_rows(w),
                ),
                w.params(),
            )
        }
    daily = [{"date": day, **row} for day, row in every_day(w, days, {"refunds": 0, "refunded": D("0.00")})]
    return {
        "type": "refunds",
        "period": w.describe(),
        "totals": {
            "refunds": sum(d["refunds"] for d in daily),
            "refunded": sum((d["refunded"] for d in daily), D("0.00")),
        },
        "daily": daily,
    }


def refunds_type(schema) -> PayloadType:
    return PayloadType(
        name="refunds",
        title="Refunds report",
        compute=refunds,
        marts=("agg_orders_daily", "fct_orders"),
        cache_ttl=dt.timedelta(minutes=20),
        schema=schema,
        report=ReportLayout(
            kpis=(
                KpiSpec("Refunds", "totals.refunds", "int", words="order_count"),
                KpiSpec("Refunded", "totals.refunded", "money"),
            ),
            tables=(
                TableSpec(
                    "daily",
                    "Refunds per day",
                    (("date", "Date", "date"), ("refunds", "Refunds", "int"), ("refunded", "Refunded", "money")),
                    rows="daily",
                ),
            ),
            charts=(ChartSpec("Refunded per day", "line", "daily", "date", "refunded"),),
        ),
    )


# --- registering it -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as connection:
        connection.execute(ROWS)
        run_dbt(["run", "--vars", "{as_of_date: '2026-07-10', business_timezone: UTC}"], capture=True)
        yield connection


@pytest.fixture
def schema(tmp_path):
    path = tmp_path / "refunds.schema.json"
    path.write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "required": ["type", "period", "totals", "daily"],
            }
        )
    )
    return path


@contextlib.contextmanager
def registered(payload_type: PayloadType):
    registry.register(payload_type)
    try:
        yield payload_type
    finally:
        registry.unregister(payload_type.name)


def cli_error(capsys, *argv: str) -> str:
    """What the command line says when it refuses `argv` (exit code 2)."""
    with pytest.raises(SystemExit) as refused:
        main(list(argv))
    assert refused.value.code == 2
    return capsys.readouterr().err


def test_the_command_line_offers_a_registered_type_and_forgets_it_when_unregistered(schema, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # argparse's help on one line
    choices = "'dashboard', 'revenue', 'orders', 'partners', 'customers'"
    with registered(refunds_type(schema)):
        assert f"(choose from {choices}, 'refunds')" in cli_error(capsys, "query", "sales")
        assert f"(choose from {choices}, 'refunds')" in cli_error(capsys, "cache", "get", "sales")
        with pytest.raises(SystemExit):
            main(["reports", "add", "--help"])
        assert "--type TYPE           revenue, orders, partners, customers, refunds\n" in capsys.readouterr().out
    assert f"(choose from {choices})" in cli_error(capsys, "query", "refunds")


def test_a_registered_type_is_cached_even_in_a_cache_table_created_before_it(conn, schema):
    cache.cleanup(conn=conn)  # creates analytics_cache for the built-in types
    with registered(refunds_type(schema)):
        assert cache.cache_types()[-1] == "refunds"
        entry = cache.refresh("refunds", as_of=dt.date.fromisoformat(END), conn=conn)
        assert entry.expires_at - entry.created_at == dt.timedelta(minutes=20)
        assert cache.get("refunds", conn=conn).data["totals"] == {"refunds": 1, "refunded": 5}
    assert "refunds" not in cache.cache_types()
    with pytest.raises(ValueError, match="unknown cache type 'refunds'"):
        cache.refresh("refunds", conn=conn)


def test_a_registered_report_type_waits_for_the_marts_its_payload_reads(conn, schema):
    with registered(refunds_type(schema)):
        assert marts.report_marts("refunds") == ["agg_orders_daily", "fct_orders"]
        assert marts.unready_marts(conn, TWO_DAYS, "refunds") == []
        assert marts.unready_marts(conn, AFTER_THE_DATA, "refunds") == ["agg_orders_daily", "fct_orders"]
    with pytest.raises(ValueError, match="unknown payload 'refunds'"):
        marts.report_marts("refunds")


def test_a_registered_report_type_is_reported_from_its_layout(conn, schema):
    with registered(refunds_type(schema)):
        dataset = build_dataset("refunds", TWO_DAYS, conn=conn, now=dt.datetime(2026, 7, 20, tzinfo=dt.timezone.utc))
        sparkle = build_dataset(
            "refunds",
            TWO_DAYS,
            {"partner_id": BUBBLES},
            conn=conn,
            now=dt.datetime(2026, 7, 20, tzinfo=dt.timezone.utc),
        )
        csv_file = render(dataset, "csv", "Refunds")
    assert dataset.title == "Refunds report"
    assert [(k.label, k.value) for k in dataset.kpis] == [("Refunds", 1), ("Refunded", D("5.00"))]
    assert dataset.table("daily").rows == [(dt.date(2026, 7, 9), 1, D("5.00")), (dt.date(2026, 7, 10), 0, D("0.00"))]
    assert [(k.label, k.value) for k in sparkle.kpis] == [
        ("Refunds of Bubbles", 0),
        ("Refunded (orders of Bubbles)", D("0.00")),
    ]
    assert csv_file.file_name == "refunds_2026-07-09..2026-07-10.zip"


def test_a_registered_report_type_takes_only_the_filters_it_declares(conn, schema):
    raw = {
        "name": "Refunds",
        "report_type": "refunds",
        "frequency": "daily",
        "time_of_day": "08:00",
        "timezone": "UTC",
        "recipients": "ops@example.com",
        "format": "csv",
        "created_by": "test",
    }
    schedules.ensure_tables(conn)  # for the built-in report types
    with registered(refunds_type(schema)):
        assert schedule_validation.filter_report_types()["partner_id"][-1] == "refunds"
        assert "refunds" not in schedule_validation.filter_report_types()["city"]
        spec = schedule_validation.validate({**raw, "filters": {"partner_id": SPARKLE}}, conn=conn)
        row = schedules.add(conn, spec)  # report_schedules accepts the type, though created before it
        assert row["report_type"] == "refunds"
        with pytest.raises(
            schedules.ScheduleError,
            match="city applies only to partners reports, not to refunds "
            r"reports: its figures are not computed per partner city \(only the partners report's "
            r"are\)",
        ):
            schedule_validation.validate({**raw, "filters": {"city": "Lisbon"}}, conn=conn)
        with pytest.raises(ValueError, match="the refunds payload cannot be filtered by city; it takes partner_id$"):
            registry.payload("refunds", START, END, city="Lisbon", conn=conn)
        schedules.delete(conn, "Refunds")
    with pytest.raises(
        schedules.ScheduleError, match="report-type: 'refunds' is not one of revenue, orders, partners, customers$"
    ):
        schedule_validation.validate(raw)


def test_an_inconsistent_record_is_refused_when_registered(schema):
    record = refunds_type(schema)
    broken = PayloadType(
        **{
            **record.__dict__,
            "filters": ("colour",),
            "report": ReportLayout(
                kpis=record.report.kpis,
                tables=record.report.tables,
                charts=(ChartSpec("Refunded per day", "line", "daily", "date", "amount"),),
            ),
        }
    )
    with pytest.raises(ValueError, match="unknown filter 'colour'.*chart 'Refunded per day' plots date, amount"):
        registry.register(broken)
    assert "refunds" not in registry.payload_types()
