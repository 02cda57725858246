"""Durations as a person reads them at a glance: "0.37 s", "2 min 05 s", "1 h 02 min".
Used wherever a duration is shown: the cache's lag (`cache get`), Dagster metadata."""

from __future__ import annotations

import datetime as dt


def duration_text(duration: float | dt.timedelta) -> str:
    """A duration in words a person reads at a glance: under a minute in seconds
    (two decimals under 10 s), under an hour in minutes and seconds, else in
    days, hours and minutes."""
    seconds = duration.total_seconds() if isinstance(duration, dt.timedelta) else float(duration)
    sign, seconds = ("−", -seconds) if seconds < 0 else ("", seconds)
    if seconds < 9.995:
        return f"{sign}{seconds:.2f} s"
    if seconds < 59.95:
        return f"{sign}{seconds:.1f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if not days and not hours:
        return f"{sign}{minutes} min {secs:02d} s"
    if not days:
        return f"{sign}{hours} h {minutes:02d} min"
    return f"{sign}{days} d {hours} h {minutes:02d} min"
