"""What a command prints, and how it refuses: one line, exit code 2 for input
to fix (1 when the input was fine but the work failed)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def say(message: str) -> None:
    print(message, flush=True)


class Refusal(Exception):
    """A command stops with `message` and exit `code` (laundry_cli.main prints it)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 2) -> None:
    raise Refusal(message, code)


def writable_folder(folder: Path, what: str, fix: str) -> None:
    """Create `folder` if missing and prove a file can be written in it, so a wrong
    path is refused before a report is rendered (and nothing is half-written)."""
    if folder.exists() and not folder.is_dir():
        fail(f"{what} {folder} is a file, not a folder; {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        fail(f"{what} {folder} cannot be written ({error.strerror or error}); {fix}")
