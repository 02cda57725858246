"""Every kind of bad input is refused at the door: exit code 2, one sentence on
stderr that says what to fix, no traceback, and nothing stored or written.

The commands run in-process through `cli.main` (a few through a real subprocess);
the warehouse holds only the ops schema and the schedule tables, because every
refusal happens before a report would read a mart."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from laundry_analytics import settings
from laundry_analytics.database import ConnectionInfo, environment_for
from laundry_cli.main import main
from reports import schedules

SCHEDULE = "Daily revenue"
MISSING_DATABASE = "host=127.0.0.1 port=5432 user=postgres dbname=laundry_no_such_database"
LINE_BREAKS = ["\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
ADD = [
    "reports",
    "add",
    "--name",
    "Weekly partners",
    "--type",
    "partners",
    "--frequency",
    "weekly",
    "--day-of-week",
    "0",
    "--recipients",
    "pm@example.com",
    "--format",
    "csv",
]


def add_with(flag: str, value: str) -> list[str]:
    """The `reports add` arguments with one option set to `value`."""
    if flag not in ADD:
        return [*ADD, flag, value]
    at = ADD.index(flag)
    return [*ADD[: at + 1], value, *ADD[at + 2 :]]


@pytest.fixture(autouse=True)
def restore_connection_variables(monkeypatch):
    """Commands export the warehouse they resolve (PG* and LAUNDRY_PG_DSN) into this
    process: put the test's values back afterwards."""
    for key in environment_for(ConnectionInfo("", 0, "", "", "")):
        if key in os.environ:
            monkeypatch.setenv(key, os.environ[key])
        else:
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="module")
def warehouse_conn(module_warehouse):
    with psycopg.connect(module_warehouse.conninfo, autocommit=True) as conn:
        spec = schedules.validate(
            {
                "name": SCHEDULE,
                "report_type": "revenue",
                "frequency": "daily",
                "time_of_day": "08:00",
                "timezone": "UTC",
                "recipients": "ops@example.com",
                "format": "csv",
                "created_by": "test",
            }
        )
        schedules.add(conn, spec)
        yield conn


@pytest.fixture
def unchanged(warehouse_conn):
    """Asserts after the test that no schedule or delivery row was added or changed."""

    def stored():
        return [
            warehouse_conn.execute(f"select * from analytics.{table} order by 1").fetchall()
            for table in ("report_schedules", "report_deliveries")
        ]

    before = stored()
    yield
    assert stored() == before


def refused(capsys, *argv: str) -> str:
    """Run the command; check exit code 2 and a one-sentence refusal; return it."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse refuses before a command runs
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("laundry-analytics"), err
    return err


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err


# --- arguments refused before anything connects ----------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "revenue", "--end", "0001-01-10"], "--end: 0001-01-10 is outside 1900-01-01..2999-12-31"),
        (["query", "revenue", "--start", "9999-12-31"], "--start: 9999-12-31 is outside 1900-01-01..2999-12-31"),
        (["cache", "refresh", "--as-of", "0001-01-01"], "--as-of: 0001-01-01 is outside 1900-01-01..2999-12-31"),
        (["query", "revenue", "--end", "20260101"], "'20260101' is not a date; write it as YYYY-MM-DD"),
        (["query", "revenue", "--start", "2026-W01-1"], "'2026-W01-1' is not a date; write it as YYYY-MM-DD"),
        (["query", "revenue", "--end", "2026-02-30"], "'2026-02-30' is not a calendar date"),
        (
            ["reports", "deliveries", "--limit", "99999999999999999999"],
            "--limit: 99999999999999999999 is not between 1 and 10000",
        ),
        (["reports", "deliveries", "--limit", "0"], "--limit: 0 is not between 1 and 10000"),
        (["ui", "--port", "70000"], "--port: 70000 is not between 1 and 65535"),
        (["ui", "--port", "0"], "--port: 0 is not between 1 and 65535"),
    ],
)
def test_arguments_out_of_range_or_form_are_refused(capsys, argv, message):
    assert message in one_line(refused(capsys, *argv))


# --- settings, validated when loaded ------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LAUNDRY_BUSINESS_TIMEZONE", "Mars/Olympus", "LAUNDRY_BUSINESS_TIMEZONE must be an IANA time zone"),
        ("LAUNDRY_BUSINESS_TIMEZONE", "America", "LAUNDRY_BUSINESS_TIMEZONE must be an IANA time zone"),
        ("LAUNDRY_DBT_THREADS", "two", "LAUNDRY_DBT_THREADS must be a whole number from 1 to 64, got 'two'"),
        ("LAUNDRY_QUERY_MAX_DAYS", "0", "LAUNDRY_QUERY_MAX_DAYS must be a whole number from 1 to 36600, got '0'"),
        ("LAUNDRY_SMTP_PORT", "70000", "LAUNDRY_SMTP_PORT must be a whole number from 1 to 65535, got '70000'"),
        ("LAUNDRY_SMTP_ATTEMPTS", "many", "LAUNDRY_SMTP_ATTEMPTS must be a whole number from 1 to 20"),
        ("LAUNDRY_SMTP_BACKOFF_SECONDS", "nan", "LAUNDRY_SMTP_BACKOFF_SECONDS must be a number from 0 to 3600"),
        ("LAUNDRY_REPORT_MAX_BYTES", "10MB", "LAUNDRY_REPORT_MAX_BYTES must be a whole number from 1 to"),
        ("LAUNDRY_REPORT_DATA_WAIT_MINUTES", "-1", "LAUNDRY_REPORT_DATA_WAIT_MINUTES must be a whole number from 0"),
        ("LAUNDRY_SMTP_SECURITY", "tls", "LAUNDRY_SMTP_SECURITY must be one of none, starttls, ssl, got 'tls'"),
        ("LAUNDRY_PARTITIONS_START", "20250101", "LAUNDRY_PARTITIONS_START must be a date as YYYY-MM-DD"),
        ("LAUNDRY_PG_DSN", "host=127.0.0.1 port=notaport", "LAUNDRY_PG_DSN has port 'notaport', which is not a port"),
        ("LAUNDRY_PG_DSN", "host=127.0.0.1 port", "LAUNDRY_PG_DSN is not a libpq connection string"),
    ],
)
def test_a_wrong_setting_is_refused_naming_the_variable(capsys, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(settings.SettingsError, match=message):
        settings.load()
    for argv in (["info"], ["reports", "list"], ["query", "revenue"]):
        assert message in one_line(refused(capsys, *argv))


def test_settings_are_read_once_per_environment(monkeypatch):
    monkeypatch.setenv("LAUNDRY_DBT_THREADS", "3")
    first = settings.load()
    assert settings.load() is first
    monkeypatch.setenv("LAUNDRY_DBT_THREADS", "4")
    assert settings.load().dbt_threads == 4


@pytest.mark.parametrize(
    "argv",
    [["reports", "list"], ["query", "revenue"], ["cache", "get", "revenue"], ["init-db"], ["reports", "deliveries"]],
)
def test_a_database_that_does_not_exist_is_named_with_the_variable_to_check(capsys, monkeypatch, argv):
    monkeypatch.setenv("LAUNDRY_PG_DSN", MISSING_DATABASE)
    err = one_line(refused(capsys, *argv))
    assert (
        "cannot connect to database 'laundry_no_such_database' on 127.0.0.1:5432: FATAL: database "
        '"laundry_no_such_database" does not exist; check LAUNDRY_PG_DSN'
    ) in err


# --- schedules: free text, names, recipients ----------------------------------------------


@pytest.mark.parametrize("char", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS])
def test_a_line_break_of_any_kind_in_a_name_is_refused(capsys, unchanged, char):
    err = one_line(refused(capsys, *add_with("--name", f"Weekly{char}Bcc: x@example.com")))
    assert "invalid schedule, nothing was stored: name: name must be one line (no line breaks)" in err


@pytest.mark.parametrize(
    ("flag", "text", "message"),
    [
        (
            "--name",
            "Weekly \x1b[31mpartners",
            "name: name contains the escape character (terminal escape sequence) U+001B",
        ),
        ("--name", "Weekly\tpartners", "name: name contains the control character U+0009"),
        ("--name", "Weekly \u202epartners", "name: name contains the bidirectional control U+202E"),
        ("--name", "Weekly \u2066partners", "name: name contains the bidirectional control U+2066"),
        ("--name", str(uuid.UUID(int=7)), "name: a schedule name may not look like an id"),
        ("--name", "   ", "name: give the schedule a name"),
        ("--description", "first line\u2028second line", "description: description must be one line"),
        ("--description", "x" * 2001, "description: description is longer than 2000 characters"),
        ("--created-by", "ops\x1b]0;title\x07", "created-by: created-by contains the escape character"),
    ],
)
def test_control_characters_and_id_shaped_names_are_refused(capsys, unchanged, flag, text, message):
    assert message in one_line(refused(capsys, *add_with(flag, text)))


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        ("a" * 65 + "@example.com", "the part before @ is 65 characters; at most 64 are allowed"),
        ("pm@" + "d" * 64 + ".example.com", "is not a domain name part"),
        ("pm@" + ".".join(["d" * 60] * 5) + ".com", "characters; an email address has at most 254"),
        ("pm@example.com\u202e", "is not a plain email address"),
        ("pm@exa_mple.com", "'exa_mple' is not a domain name part"),
    ],
)
def test_recipients_beyond_the_email_standards_limits_are_refused(capsys, unchanged, recipients, message):
    assert message in one_line(refused(capsys, *add_with("--recipients", recipients)))


@pytest.mark.parametrize(
    ("report_type", "filters", "message"),
    [
        ("partners", '{"city": "Lisbon\\u2028Bcc: x@example.com"}', "filters: city must be one line (no line breaks)"),
        ("partners", '{"city": "Lisbon\\nBcc: x@example.com"}', "filters: city must be one line (no line breaks)"),
        (
            "partners",
            '{"city": "\\u001b[31mLisbon"}',
            "filters: city contains the escape character (terminal escape sequence) U+001B",
        ),
        (
            "revenue",
            '{"service_category": "Dry\\u0085Cleaning"}',
            "filters: service_category must be one line (no line breaks)",
        ),
        (
            "revenue",
            '{"service_category": "Dry \\u202eCleaning"}',
            "filters: service_category contains the bidirectional control U+202E",
        ),
    ],
)
def test_filter_values_with_line_breaks_or_control_characters_are_refused(
    capsys, unchanged, report_type, filters, message
):
    """Refused as text, whatever the marts hold (before: only when no city matched)."""
    argv = add_with("--filters", filters)
    argv[argv.index("--type") + 1] = report_type
    assert message in one_line(refused(capsys, *argv))


def test_several_wrong_fields_are_listed_one_per_line(capsys, unchanged):
    argv = add_with("--recipients", "a" * 65 + "@example.com")
    err = refused(
        capsys, *[*argv[: argv.index("--name") + 1], "Weekly\u2028partners", *argv[argv.index("--name") + 2 :]]
    )
    assert err.splitlines()[1:] == [
        "  name: name must be one line (no line breaks)",
        f"  recipients: '{'a' * 65}@example.com': the part before @ is 65 characters; at most 64 are allowed",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["reports", "edit", SCHEDULE, "--name", "Daily\nrevenue\x1b[2J"],
        ["reports", "show", SCHEDULE, "extra\u2028argument"],
    ],
)
def test_what_argparse_quotes_of_the_input_is_shown_escaped_on_one_line(capsys, unchanged, argv):
    err = one_line(refused(capsys, *argv))
    assert "unrecognized arguments" in err and "\x1b" not in err and "\u2028" not in err
    assert "\\n" in err or "\\u2028" in err


def test_addresses_at_the_limits_are_accepted():
    local, label = "a" * 64, "d" * 63
    assert schedules.parse_address(f"{local}@{label}.example.com") == f"{local}@{label}.example.com"
    longest = "pm@" + ".".join(["d" * 61] * 4)[:247] + ".com"
    assert len(longest) == 254 and schedules.parse_address(longest) == longest


def test_filters_nested_too_deeply_are_refused(capsys, unchanged):
    err = one_line(refused(capsys, *add_with("--filters", "[" * 100_000)))
    assert "--filters is nested too deeply to read; give a flat JSON object" in err


@pytest.mark.parametrize("action", ["show", "pause", "delete", "deliveries"])
@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_schedule_key_is_refused(capsys, unchanged, action, key):
    assert "give a schedule name or id" in one_line(refused(capsys, "reports", action, key))


# --- paths the user gives ---------------------------------------------------------------------


def test_preview_into_a_file_is_refused_and_the_file_kept(capsys, unchanged, tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"mine")
    err = one_line(refused(capsys, "reports", "preview", SCHEDULE, "--out", str(target)))
    assert f"--out {target} is a file, not a folder" in err
    assert target.read_bytes() == b"mine" and list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    "out", ["{tmp}/a-file/sub", "/sys/laundry-report-preview"], ids=["below-a-file", "unwritable-folder"]
)
def test_preview_into_a_folder_that_cannot_be_written_is_refused(capsys, unchanged, tmp_path, out):
    (tmp_path / "a-file").write_text("")
    out = out.format(tmp=tmp_path)
    err = one_line(refused(capsys, "reports", "preview", SCHEDULE, "--out", out))
    assert f"--out {out} cannot be written" in err and "give a folder you can write to" in err
    assert not os.path.exists(out) and list(tmp_path.iterdir()) == [tmp_path / "a-file"]


@pytest.mark.parametrize(
    "outbox", ["{tmp}/a-file/outbox", "/sys/laundry-outbox"], ids=["below-a-file", "unwritable-folder"]
)
def test_send_now_with_an_outbox_that_cannot_be_written_is_refused(capsys, unchanged, monkeypatch, tmp_path, outbox):
    (tmp_path / "a-file").write_text("")
    outbox = outbox.format(tmp=tmp_path)
    monkeypatch.delenv("LAUNDRY_SMTP_HOST", raising=False)
    monkeypatch.setenv("LAUNDRY_OUTBOX", outbox)
    err = one_line(refused(capsys, "reports", "send-now", SCHEDULE, "--to", "me@example.com"))
    assert f"the outbox {outbox} cannot be written" in err and "set LAUNDRY_OUTBOX to a folder" in err
    assert not os.path.exists(outbox)


# --- the installed command, in a process of its own --------------------------------------------


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({"LAUNDRY_PG_DSN": MISSING_DATABASE}, ["reports", "list"], 'database "laundry_no_such_database" does not'),
        ({"LAUNDRY_BUSINESS_TIMEZONE": "Mars/Olympus"}, ["query", "revenue"], "LAUNDRY_BUSINESS_TIMEZONE must be"),
        ({}, ["query", "revenue", "--end", "0001-01-10"], "--end: 0001-01-10 is outside"),
        ({}, add_with("--filters", "[" * 100_000), "--filters is nested too deeply"),
        ({}, ["generate", "--orders", "1000000000000"], "more than the generator's limit of 100,000,000"),
        ({}, ["generate", "--end", "9999-12-31"], "outside the generator's dates"),
        ({}, ["query", "revenue", "--end", "2026-W01-1"], "'2026-W01-1' is not a date; write it as YYYY-MM-DD"),
        ({}, ["reports", "deliveries", "--limit", "99999999999999999999"], "is not between 1 and 10000"),
        ({}, ["ui", "--port", "70000"], "--port: 70000 is not between 1 and 65535"),
        ({}, ["reports", "preview", SCHEDULE, "--out", "/proc/laundry-report-preview"], "cannot be written"),
        (
            {"LAUNDRY_OUTBOX": "/proc/laundry-outbox", "LAUNDRY_SMTP_HOST": None},
            ["reports", "send-now", SCHEDULE, "--to", "me@example.com"],
            "the outbox /proc",
        ),
        ({"LAUNDRY_PG_DSN": "not a dsn"}, ["reports", "list"], "LAUNDRY_PG_DSN is not a libpq connection string"),
    ],
)
def test_the_command_exits_2_with_one_sentence(unchanged, env, argv, message):
    done = subprocess.run(
        [sys.executable, "-m", "laundry_cli", *argv],
        capture_output=True,
        text=True,
        env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
