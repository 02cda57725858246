"""When a schedule fires (its ticks) and which period a tick reports on.

A tick is a local wall-clock time in the schedule's IANA time zone: the
`time_of_day` of every day (daily), of one weekday (weekly), of one day of the
month (monthly; 31 or "last" means the month's last day), or of that day in the
first month of each quarter (quarterly). The period is always derived from the
tick, never from "now": a daily tick covers the previous local day, weekly the
previous ISO week (Monday to Sunday), monthly the previous month, quarterly the
previous quarter. So a late or caught-up send still covers its own period.

DST: a tick in the spring-forward gap (02:30 that does not exist) fires an hour
later on the wall clock (03:30, the same instant as 02:30 before the change); an
ambiguous fall-back time fires at its first occurrence. Local dates, and so periods, are never shifted by DST.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly")
UTC = dt.timezone.utc


@dataclass(frozen=True)
class Period:
    """A range of order dates, both ends inclusive."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period just before, of the same kind (same length for days/weeks,
        the previous calendar month or quarter otherwise)."""
        if self.start.day == 1 and self.end == _month_end(self.end) and self.days > 7:
            months = _months_between(self.start, self.end)
            start = _add_months(self.start, -months)
            return Period(start, self.start - dt.timedelta(days=1))
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def label(self) -> str:
        """Human name of the period, for subjects, file names and footers."""
        if self.days == 1:
            return self.start.isoformat()
        iso = self.start.isocalendar()
        if self.days == 7 and self.start.isoweekday() == 1:
            return f"{iso.year}-W{iso.week:02d}"
        if self.start.day == 1 and self.end == _month_end(self.end):
            months = _months_between(self.start, self.end)
            if months == 1:
                return f"{self.start:%Y-%m}"
            if months == 3 and self.start.month in (1, 4, 7, 10):
                return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def period_for(frequency: str, tick_local_date: dt.date) -> Period:
    """The period a tick on this local date reports on."""
    d = tick_local_date
    if frequency == "daily":
        return Period(d - dt.timedelta(days=1), d - dt.timedelta(days=1))
    if frequency == "weekly":
        this_monday = d - dt.timedelta(days=d.weekday())
        return Period(this_monday - dt.timedelta(days=7), this_monday - dt.timedelta(days=1))
    if frequency == "monthly":
        first = d.replace(day=1)
        return Period(_add_months(first, -1), first - dt.timedelta(days=1))
    if frequency == "quarterly":
        quarter_start = d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
        return Period(_add_months(quarter_start, -3), quarter_start - dt.timedelta(days=1))
    raise ValueError(f"unknown frequency {frequency!r}")


@dataclass(frozen=True)
class Cadence:
    """The firing rule of a schedule."""

    frequency: str
    time_of_day: dt.time
    timezone: str
    day_of_week: int | None = None
    """0 = Monday … 6 = Sunday (weekly)."""
    day_of_month: int | None = None
    """1–31 (monthly, quarterly); 31 is the month's last day, shorter months clamp."""

    def fires_on(self, day: dt.date) -> bool:
        if self.frequency == "daily":
            return True
        if self.frequency == "weekly":
            return day.weekday() == self.day_of_week
        if self.frequency == "quarterly" and day.month not in (1, 4, 7, 10):
            return False
        return day.day == min(self.day_of_month, calendar.monthrange(day.year, day.month)[1])

    def tick_on(self, day: dt.date) -> dt.datetime:
        """The UTC instant of the tick on a local date (DST-safe, see module doc)."""
        local = dt.datetime.combine(day, self.time_of_day, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    def next_tick(self, after: dt.datetime) -> dt.datetime:
        """The first tick strictly after `after` (an aware datetime), in UTC."""
        zone = ZoneInfo(self.timezone)
        day = after.astimezone(zone).date() - dt.timedelta(days=1)
        for _ in range(400):
            if self.fires_on(day):
                tick = self.tick_on(day)
                if tick > after:
                    return tick
            day += dt.timedelta(days=1)
        raise ValueError(f"no tick of {self} within 400 days after {after}")

    def ticks_between(self, first: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
        """Every tick t with first <= t <= until."""
        ticks: list[dt.datetime] = []
        tick = self.next_tick(first - dt.timedelta(microseconds=1))
        while tick <= until:
            ticks.append(tick)
            tick = self.next_tick(tick)
        return ticks

    def local_date(self, tick: dt.datetime) -> dt.date:
        return tick.astimezone(ZoneInfo(self.timezone)).date()

    def period_of(self, tick: dt.datetime) -> Period:
        return period_for(self.frequency, self.local_date(tick))


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1
