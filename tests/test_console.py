"""What `laundry-analytics materialize` prints: a screen of progress (a line per
Dagster step with dbt models done of total, checks passed and elapsed time), the
path of a log file that holds the full dbt and Dagster output, and on failure
the failing model, its error and that path. Run as a user runs it, in a process
of its own, on a small generated dataset."""

import os
import re
import subprocess
import sys
from pathlib import Path

from laundry_analytics.generate import generate
from laundry_analytics.settings import DBT_PROJECT_DIR

#: Every dbt model of the project, by name.
MODELS = sorted(path.stem for path in (DBT_PROJECT_DIR / "models").rglob("*.sql"))


def materialize(tmp_path: Path) -> tuple[int, str]:
    env = {**os.environ, "LAUNDRY_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    command = subprocess.run(
        [sys.executable, "-m", "laundry_cli", "materialize"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=1200,
    )
    return command.returncode, command.stdout


def log_file(console: str, tmp_path: Path) -> Path:
    (path,) = re.findall(r"full dbt and Dagster log: (\S+)", console)
    assert Path(path).parent == tmp_path / "home" / "logs"
    return Path(path)


def test_materialize_shows_one_screen_and_keeps_the_full_dbt_output_in_its_log(conn, tmp_path):
    generate(conn, orders=300, seed=7)
    code, console = materialize(tmp_path)
    assert code == 0, console
    lines = console.splitlines()
    assert len(lines) <= 40, console
    assert not any("dagster - " in line or " START " in line for line in lines), console  # no log noise
    # Each finished step: elapsed, step n of total, dbt models done of total, checks passed.
    steps = [
        line
        for line in lines
        if re.match(
            r"\s+\d+:\d\d  step \d+/\d+ \S+ done: dbt models \d+/\d+, "
            r"checks \d+ passed",
            line,
        )
    ]
    # One line per step that built assets (check-only steps are counted, not listed), in order.
    numbers = [tuple(map(int, line.split()[2].split("/"))) for line in steps]
    assert numbers and numbers == sorted(numbers) and all(done <= total for done, total in numbers), console
    assert any(" laundry_dbt_models done" in line for line in steps), console
    assert f"dbt models {len(MODELS)}/{len(MODELS)}" in lines[-1], console
    log = log_file(console, tmp_path).read_text()
    for model in MODELS:  # dbt's own line for every model it built
        assert re.search(rf"OK created sql \w+ model \w+\.{model} ", log), model
    assert "Completed successfully" in log and "dagster - INFO - all_assets_job" in log
    assert "unspecified precision/scale" not in log  # every numeric contract column has its precision


def test_a_failing_model_is_named_with_its_error_and_the_log_path(conn, tmp_path):
    generate(conn, orders=300, seed=7)
    conn.execute("alter table ops.orders rename column status to order_status")  # stg_ops__orders selects status
    code, console = materialize(tmp_path)
    assert code == 1, console
    log_path = log_file(console, tmp_path)
    assert len(console.splitlines()) <= 40, console
    assert re.search(r'failed: model stg_ops__orders: Database Error: column "?status"? does not exist', console), (
        console
    )
    assert console.rstrip().endswith(f"the full dbt and Dagster log is {log_path}"), console
    assert 'column "status" does not exist' in log_path.read_text()
