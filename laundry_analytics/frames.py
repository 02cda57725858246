"""The warehouse for notebooks: a SQLAlchemy engine and pandas DataFrames.

    from laundry_analytics import frames
    revenue = frames.revenue("2026-03-01", "2026-03-31")      # a dict of DataFrames
    revenue["daily_trend"].plot(x="date", y="total_revenue")
    daily = frames.mart("daily_revenue_summaries", "2026-03-01", "2026-03-31")
    pd.read_sql("select * from analytics.dim_partners", frames.engine())

Every payload type of the registry (laundry_analytics.analytics.registry) is a
function of this module, named after the type and taking the query API's
arguments (`start`, `end`, `partner_id`, the type's filters): the figures are
the query API's own (same definitions, same validation: a bad date, a range
longer than LAUNDRY_QUERY_MAX_DAYS or an unknown filter value raises ValueError
saying what to fix). A payload becomes a dict of DataFrames, one per part:
each list of rows (`daily_trend`, `by_payment_method`, ...) a frame of those
rows, each group of figures (`totals`, `segments`, ...) a frame of one row, the
payload's single figures (rates, counts, `as_of_date`) the one-row frame
`summary`. Each frame carries the payload's `period` in `frame.attrs["period"]`
and how fresh its figures are in `frame.attrs["data_as_of"]`.

`mart(name, start, end)` reads one mart of the analytics schema over a range of
its date column (MARTS; marts without one, the dimensions, are read whole).
Only marts are read, never `ops`; the name is checked against MARTS and the
SQL is composed with quoted identifiers.

Types: money and every other exact figure (the warehouse's `numeric`) stay
Python `Decimal` values (dtype object), exact to the cent as the marts store
them: use `.astype(float)` for plotting, not for sums. Dates become
`datetime64` columns, whole numbers int64 (nullable `Int64` when a value is
missing), text pandas strings.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import psycopg
import sqlalchemy
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from laundry_analytics import analytics, database
from laundry_analytics import settings as settings_module
from laundry_analytics.analytics import registry
from laundry_analytics.analytics.windows import make_window

#: The marts `mart()` reads, each with the date column its range applies to
#: (None: read whole). Restricted models (raw PII) are not here, nor the cache.
MARTS: dict[str, str | None] = {
    "fct_orders": "order_date",
    "fct_order_items": "order_date",
    "agg_orders_daily": "order_date",
    "agg_item_sales_daily": "order_date",
    "agg_customers_daily": "first_order_date",
    "daily_revenue_summaries": "date",
    "partner_performance_metrics": "date",
    "agg_partner_periods": "period_start",
    "data_quality_issues": None,
    "customer_analytics": None,
    "dim_customers": None,
    "dim_partners": None,
}

#: The parts of a payload that describe it rather than hold figures.
_META = ("type", "period", "data_as_of")


def engine(**kwargs) -> sqlalchemy.Engine:
    """A SQLAlchemy engine (`postgresql+psycopg`) on the warehouse the settings
    name (LAUNDRY_PG_DSN, the PG* variables, or the embedded server, started if
    needed). Keyword arguments go to `sqlalchemy.create_engine`."""
    info = database.ensure_database()
    params = conninfo_to_dict(info.conninfo)
    query = {}
    host = params.get("host")
    if host and host.startswith("/"):  # a Unix socket folder: libpq's host, passed as a query parameter
        query["host"], host = host, None
    url = sqlalchemy.URL.create(
        "postgresql+psycopg",
        username=params.get("user"),
        password=params.get("password"),
        host=host,
        port=int(params["port"]) if params.get("port") else None,
        database=params.get("dbname"),
        query=query,
    )
    return sqlalchemy.create_engine(url, **kwargs)


def payload(
    payload_type: str,
    start=None,
    end=None,
    partner_id=None,
    *,
    conn: psycopg.Connection | None = None,
    **filters: str | None,
) -> dict[str, pd.DataFrame]:
    """The payload of `payload_type` (a registered type) as DataFrames, one per part."""
    return payload_frames(registry.payload(payload_type, start, end, partner_id, conn=conn, **filters))


def payload_frames(result: dict) -> dict[str, pd.DataFrame]:
    """A payload (the query API's dict) as a dict of DataFrames: a list of rows
    becomes a frame of those rows, a group of figures one row, a group of groups
    one row per group, single figures the one-row `summary` frame."""
    frames: dict[str, pd.DataFrame] = {}
    summary = {}
    for part, value in result.items():
        if part in _META:
            continue
        if isinstance(value, list):
            frames[part] = _frame(value)
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            frames[part] = _frame([{"name": name, **row} for name, row in value.items()])
        elif isinstance(value, dict):
            frames[part] = _frame([{key: v for key, v in value.items() if not isinstance(v, (list, dict))}])
            for key, nested in value.items():
                if isinstance(nested, (list, dict)):
                    frames[f"{part}.{key}"] = _frame(nested if isinstance(nested, list) else [nested])
        else:
            summary[part] = value
    if summary:
        frames["summary"] = _frame([summary])
    for frame in frames.values():
        frame.attrs["period"] = analytics.to_jsonable(result.get("period"))
        frame.attrs["data_as_of"] = analytics.to_jsonable(result.get("data_as_of"))
    return frames


def mart(name: str, start=None, end=None, *, conn: psycopg.Connection | None = None) -> pd.DataFrame:
    """The rows of mart `name` (one of MARTS) whose date column is in start..end
    (inclusive; validated as the query API validates a range, default the last
    30 days). A mart without a date column (a dimension) is read whole and takes
    no dates."""
    if name not in MARTS:
        raise ValueError(f"unknown mart {name!r}: choose one of {', '.join(MARTS)}")
    column = MARTS[name]
    schema = sql.Identifier(settings_module.load().analytics_schema)
    if column is None:
        if start is not None or end is not None:
            raise ValueError(f"{name} has no date column: call mart({name!r}) without start and end")
        query, params = sql.SQL("select * from {}.{}").format(schema, sql.Identifier(name)), {}
    else:
        window = make_window(start, end)
        query = sql.SQL(
            "select * from {schema}.{table} where {column} between %(start)s and %(end)s order by {column}"
        ).format(schema=schema, table=sql.Identifier(name), column=sql.Identifier(column))
        params = {"start": window.start, "end": window.end}
    with database.borrowed(conn) as c:
        try:
            cursor = c.execute(query, params)
        except psycopg.errors.UndefinedTable:
            c.rollback()
            raise ValueError(f"the mart {name} is not built yet: run `laundry-analytics materialize` first") from None
        columns = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    return _frame([dict(zip(columns, row)) for row in rows], columns)


def _frame(rows: list[dict], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows as a DataFrame with the types the module docstring promises."""
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty:
            continue
        if all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
            frame[column] = pd.to_datetime(frame[column])
        elif all(isinstance(v, Decimal) for v in values):
            frame[column] = frame[column].astype(object)  # exact: never converted to float
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values) and len(values) < len(frame):
            frame[column] = frame[column].astype("Int64")
    return frame


def _payload_function(payload_type: str):
    def frames_of(
        start=None, end=None, partner_id=None, *, conn: psycopg.Connection | None = None, **filters: str | None
    ) -> dict[str, pd.DataFrame]:
        return payload(payload_type, start, end, partner_id, conn=conn, **filters)

    frames_of.__name__ = frames_of.__qualname__ = payload_type
    frames_of.__doc__ = (
        f"The {payload_type} payload as DataFrames, one per part (laundry_analytics.frames.payload_frames)."
    )
    return frames_of


def __getattr__(name: str):
    """`frames.<type>` for every registered payload type, registered now or later."""
    if name in registry.payload_types():
        return _payload_function(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *registry.payload_types()])
