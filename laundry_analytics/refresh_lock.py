"""One refresh of a warehouse at a time.

Two dbt invocations building the same warehouse at once collide (`relation
"data_quality_issues" already exists`, an incremental model read half-written),
so every dbt invocation that touches the warehouse holds a PostgreSQL advisory
lock for as long as dbt runs. The lock is session-level and lives on a connection
of its own: it is released when the holder closes that connection, and by the
server when the holder's process dies (kill -9 included), so a crash never
leaves it taken. Advisory locks belong to one database, so the same key locks
each warehouse separately.

The holder names itself in its connection's `application_name`, which anyone
can read in pg_stat_activity: a refused or waiting refresh says who it waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from laundry_analytics import database

#: The two int4 keys of pg_advisory_lock: this project, and its refresh lock.
LOCK_KEY = (0x4C41554E, 1)  # "LAUN", 1

#: application_name of the holder's lock connection: this prefix, then who it is.
HOLDER_PREFIX = "laundry refresh: "

#: PostgreSQL truncates application_name to 63 bytes.
_APPLICATION_NAME_BYTES = 63


class RefreshRunning(RuntimeError):
    """Another refresh holds the warehouse's refresh lock."""


def holder(conn: psycopg.Connection) -> str | None:
    """Who holds the refresh lock of `conn`'s database (as it named itself), or
    None when nobody does."""
    row = conn.execute(
        """select activity.application_name, activity.pid
           from pg_locks as lock
           join pg_stat_activity as activity on activity.pid = lock.pid
           where lock.locktype = 'advisory' and lock.granted
             and lock.database = (select oid from pg_database where datname = current_database())
             and lock.classid = %s and lock.objid = %s and lock.objsubid = 2""",
        LOCK_KEY,
    ).fetchone()
    if row is None:
        return None
    name, pid = row
    return name.removeprefix(HOLDER_PREFIX) if name and name.startswith(HOLDER_PREFIX) else f"server pid {pid}"


def running_message(who: str | None) -> str:
    return f"a refresh is already running ({who or 'holder unknown'})"


def _duration(seconds: float) -> str:
    return f"{seconds:g} seconds" if seconds < 120 else f"{seconds / 60:g} minutes"


@contextmanager
def hold(who: str, *, wait_seconds: float = 0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the warehouse's refresh lock for the block. `who` names the holder
    ("run id <id>", "pid <n>, ..."). When another refresh holds it: with
    `wait_seconds` 0, raise RefreshRunning at once; otherwise report through
    `on_wait` and wait up to that long, then raise RefreshRunning."""
    name = (HOLDER_PREFIX + who).encode()[:_APPLICATION_NAME_BYTES].decode(errors="ignore")
    conn = database.connect(autocommit=True, application_name=name)
    try:
        if not conn.execute("select pg_try_advisory_lock(%s, %s)", LOCK_KEY).fetchone()[0]:
            current = holder(conn)
            if wait_seconds <= 0:
                raise RefreshRunning(running_message(current))
            if on_wait:
                on_wait(f"{running_message(current)}: waiting up to {_duration(wait_seconds)} for it to finish")
            # lock_timeout bounds the wait; the server queues waiters in order.
            conn.execute(f"set lock_timeout = {max(1, int(wait_seconds * 1000))}")
            try:
                conn.execute("select pg_advisory_lock(%s, %s)", LOCK_KEY)
            except psycopg.errors.LockNotAvailable:
                raise RefreshRunning(
                    f"{running_message(holder(conn) or current)} and did not finish within {_duration(wait_seconds)}"
                ) from None
        yield
    finally:
        conn.close()  # ends the session, which releases the lock
