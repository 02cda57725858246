"""With nothing configured, the project starts its own PostgreSQL (a bare machine)."""

import os
import subprocess
import sys
import textwrap


def test_bare_environment_starts_embedded_server_and_reuses_its_data(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "LAUNDRY_PG_DSN"}
    env["LAUNDRY_HOME"] = str(tmp_path / "home")
    script = textwrap.dedent(
        """
        import sys
        from laundry_analytics import database
        info = database.ensure_database()
        with database.connect(info, autocommit=True) as conn:
            if sys.argv[1] == "write":
                conn.execute("create table kept (n int)")
                conn.execute("insert into kept values (42)")
            print(info.host, conn.execute("select n from kept").fetchone()[0])
        """
    )
    first = subprocess.run([sys.executable, "-c", script, "write"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    host, value = first.stdout.split()
    assert host.startswith(str(tmp_path / "home" / "pgdata"))
    assert value == "42"
    # The server stopped with the last process; the next one restarts it on the same data.
    second = subprocess.run([sys.executable, "-c", script, "read"], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split()[1] == "42"
