"""`laundry-analytics`: the project's one command line, on top of the core
(laundry_analytics), the reports and the Dagster code location.

Every subcommand validates its input before touching anything and exits with
code 2 and a message that says what to fix when the input is wrong.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import psycopg

from laundry_analytics import settings as settings_module
from laundry_analytics.plain_text import visible
from laundry_cli.console import Refusal
from laundry_cli.parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def refuse(message: str, code: int = 2) -> int:
        # What a user typed may be quoted in the message: shown escaped, never as a
        # line break or a terminal escape sequence (a list of problems keeps its lines).
        shown = "\n".join(visible(line) for line in message.split("\n"))
        print(f"laundry-analytics {args.command}: error: {shown}", file=sys.stderr)
        return code

    try:
        source = _warehouse_source()
        return args.func(args)
    except Refusal as refusal:
        return refuse(str(refusal), refusal.code)
    except ValueError as error:  # validation inside the library (and settings): the input is wrong
        return refuse(str(error))
    except RecursionError:
        if getattr(args, "filters", None) is None:
            raise  # not the JSON a user gave: a bug
        return refuse('--filters is nested too deeply to read; give a flat JSON object, e.g. \'{"city": "Lisbon"}\'')
    except psycopg.OperationalError as error:
        if not _raised_connecting(error):
            raise  # the server failed during the command: not the configuration
        return refuse(_connection_failure(error, source))
    except OSError as error:
        if error.filename is None:
            raise
        return refuse(f"{error.filename}: {error.strerror or error}; check the path and its permissions")


def _warehouse_source() -> str:
    """Where the connection settings come from (read before a command exports the
    resolved connection as LAUNDRY_PG_DSN and PG* variables)."""
    cfg = settings_module.load()
    if cfg.pg_dsn:
        return "LAUNDRY_PG_DSN"
    if cfg.libpq.get("PGHOST"):
        return "the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)"
    return "the embedded server's folder (LAUNDRY_HOME)"


def _raised_connecting(error: psycopg.OperationalError) -> bool:
    """Whether the error came from opening a connection (the settings or the server's
    reachability), not from a statement on an open one (a server that failed)."""
    return any(
        frame.f_code.co_name == "connect" and frame.f_globals.get("__name__", "").startswith("psycopg")
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


def _connection_failure(error: psycopg.OperationalError, source: str) -> str:
    reason = " ".join(str(error).split()).rsplit("failed: ", 1)[-1]  # libpq's cause, on one line
    pgconn = error.pgconn
    if pgconn is None:
        return f"cannot connect to the warehouse: {reason}; check {source}"
    host, port, dbname = ((part or b"").decode(errors="replace") for part in (pgconn.host, pgconn.port, pgconn.db))
    return f"cannot connect to database {dbname!r} on {host}:{port}: {reason}; check {source}"
