"""Invalid command-line input is refused with a clear message and exit code 2."""

import pytest

from laundry_cli.main import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "--orders", "0"], "must be at least 1"),
        (["generate", "--orders", "many"], "is not a whole number"),
        (["generate", "--messy-fraction", "0.9"], "between 0 and 0.5"),
        (["generate", "--start", "2026-13-01"], "YYYY-MM-DD"),
        (["query", "revenue", "--start", "20260101"], "YYYY-MM-DD"),  # only the extended form
        (["cache", "refresh", "--as-of", "2026-W01-1"], "YYYY-MM-DD"),
        (["generate", "--start", "2026-03-01", "--end", "2026-02-01"], "is after --end"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_invalid_input_exits_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_every_subcommand_has_help(capsys):
    for command in ["demo", "init-db", "generate", "materialize", "ui", "info"]:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: laundry-analytics " + command in capsys.readouterr().out


def test_a_refused_argument_is_one_line_that_points_to_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reports", "add", "--name", "x"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "laundry-analytics reports add: error: the following arguments are required: --type, --frequency, "
        "--recipients (see laundry-analytics reports add --help)\n"
    )
