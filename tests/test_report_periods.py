"""Report periods come from the tick, in the schedule's time zone, DST-safe."""

import datetime as dt

import pytest

from reports.periods import Cadence, Period, period_for

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("frequency", "tick_date", "start", "end", "label"),
    [
        ("daily", "2026-03-01", "2026-02-28", "2026-02-28", "2026-02-28"),
        ("weekly", "2026-07-08", "2026-06-29", "2026-07-05", "2026-W27"),  # a Wednesday: the previous ISO week
        ("monthly", "2026-03-01", "2026-02-01", "2026-02-28", "2026-02"),
        ("monthly", "2026-01-31", "2025-12-01", "2025-12-31", "2025-12"),
        ("quarterly", "2026-04-01", "2026-01-01", "2026-03-31", "2026-Q1"),
        ("quarterly", "2026-01-15", "2025-10-01", "2025-12-31", "2025-Q4"),
    ],
)
def test_the_period_is_the_previous_one_before_the_tick(frequency, tick_date, start, end, label):
    period = period_for(frequency, dt.date.fromisoformat(tick_date))
    assert (period.start.isoformat(), period.end.isoformat(), period.label()) == (start, end, label)


def test_previous_periods_for_comparison():
    assert Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)).previous() == Period(
        dt.date(2026, 2, 1), dt.date(2026, 2, 28)
    )
    assert Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30)).previous() == Period(
        dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    )
    assert Period(dt.date(2026, 7, 6), dt.date(2026, 7, 12)).previous() == Period(
        dt.date(2026, 6, 29), dt.date(2026, 7, 5)
    )


def test_a_weekly_tick_keeps_its_local_time_across_the_dst_change():
    # New York: EST (UTC-5) until Sunday 8 March 2026 02:00, then EDT (UTC-4).
    weekly = Cadence("weekly", dt.time(8, 0), "America/New_York", day_of_week=0)
    first = weekly.next_tick(dt.datetime(2026, 3, 1, tzinfo=UTC))
    second = weekly.next_tick(first)
    assert first == dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert second == dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT: 23 hours less than a week later
    assert weekly.period_of(second) == Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8))  # the DST week, Mon..Sun


def test_a_late_evening_tick_reports_on_the_local_day_not_the_utc_day():
    # 23:30 in Auckland on 1 July is 11:30 UTC the same day; 00:30 on 2 July is 12:30 UTC on 1 July.
    daily = Cadence("daily", dt.time(0, 30), "Pacific/Auckland")
    tick = daily.next_tick(dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert tick == dt.datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert daily.period_of(tick) == Period(dt.date(2026, 7, 1), dt.date(2026, 7, 1))


def test_a_tick_in_the_spring_forward_gap_fires_once_an_hour_later():
    daily = Cadence("daily", dt.time(2, 30), "America/New_York")
    ticks = daily.ticks_between(dt.datetime(2026, 3, 7, tzinfo=UTC), dt.datetime(2026, 3, 10, tzinfo=UTC))
    assert ticks == [
        dt.datetime(2026, 3, 7, 7, 30, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 6, 30, tzinfo=UTC),
    ]


def test_day_31_and_last_clamp_to_the_end_of_short_months():
    monthly = Cadence("monthly", dt.time(6, 0), "UTC", day_of_month=31)
    ticks = monthly.ticks_between(dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 5, 1, tzinfo=UTC))
    assert [t.date().isoformat() for t in ticks] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


def test_quarterly_fires_only_in_the_first_month_of_a_quarter():
    quarterly = Cadence("quarterly", dt.time(6, 0), "UTC", day_of_month=2)
    ticks = quarterly.ticks_between(dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 12, 31, tzinfo=UTC))
    assert [t.date().isoformat() for t in ticks] == ["2026-01-02", "2026-04-02", "2026-07-02", "2026-10-02"]
