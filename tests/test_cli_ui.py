"""`laundry-analytics ui` runs `dagster dev` (webserver, daemon, code servers) and
stops all of it when it is terminated: no process it started is left behind."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_ui_stops_dagster_dev_and_the_webserver_it_started(warehouse, tmp_path, stop_signal):
    port = free_port()
    cli = Path(sys.executable).with_name("laundry-analytics")
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        ui = subprocess.Popen(
            [str(cli), "ui", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LAUNDRY_HOME": str(tmp_path)},
        )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert ui.poll() is None, log.read_text()[-5000:]
            time.sleep(1)
        else:
            pytest.fail("the UI never answered: " + log.read_text()[-5000:])
        started = descendants(ui.pid)
        # dagster dev, its webserver and its daemon at least.
        assert len(started) >= 3, started
        ui.send_signal(stop_signal)
        assert ui.wait(timeout=90) == 0, log.read_text()[-5000:]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.5)
        assert [pid for pid in started if alive(pid)] == []
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
    finally:
        if ui.poll() is None:
            ui.kill()
