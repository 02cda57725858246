"""The order-times step: growth over the range, weekday and hour-of-day seasonality.

Order times are produced day by day in increasing order, a bounded number at a
time, so no array of one entry per order of the whole run ever exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import DAY, HOUR
from laundry_analytics.generate.inputs import Window

HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.2, 3, 5, 6, 5.5, 5, 5, 4.5, 4, 4, 4.5, 5.5, 7, 7.5, 6, 4, 2.5, 1.5]
)
WEEKDAY_WEIGHTS = np.array([1.15, 1.0, 0.95, 1.0, 1.05, 1.3, 1.2])  # Monday … Sunday
GROWTH = 2.0  # the last day of the range is busier than the first by 1 + GROWTH times


@dataclass
class Calendar:
    """The days of the order range and how busy each one is expected to be."""

    first_day: int  # days since 1970-01-01 of the range's first day
    n_days: int
    end_us: int  # orders are created before this (the end of the range, or now)
    day_weight: np.ndarray  # growth × weekday × the part of the day before end_us

    @classmethod
    def of(cls, window: Window) -> Calendar:
        first_day = window.start_us // DAY
        n_days = int((window.end_us - 1) // DAY - first_day + 1)
        day = np.arange(n_days)
        weekday = (first_day + day + 3) % 7  # 1970-01-01 was a Thursday (3)
        weight = (1.0 + GROWTH * day / max(1, n_days - 1)) * WEEKDAY_WEIGHTS[weekday]
        calendar = cls(first_day, n_days, window.end_us, weight)
        hour_p, _ = calendar._hours(n_days - 1, normalise=False)
        weight[-1] *= hour_p.sum() / HOUR_WEIGHTS.sum()  # the last day may end at `now`
        return calendar

    def day_start(self, day: int | np.ndarray) -> int | np.ndarray:
        return (self.first_day + day) * DAY

    def _hours(self, day: int, normalise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Each hour's share of the day's orders and its usable length (the hours
        after end_us have none)."""
        hour_start = self.day_start(day) + np.arange(24) * HOUR
        usable = np.clip(self.end_us - hour_start, 0, HOUR)
        weight = HOUR_WEIGHTS * usable / HOUR
        return (weight / weight.sum() if normalise else weight), usable

    def times(self, rng: np.random.Generator, day: int, n: int, limit: int) -> Iterator[np.ndarray]:
        """n order times on `day`, ascending, in pieces of at most `limit`."""
        p, usable = self._hours(day)
        start = self.day_start(day)
        if n <= limit:
            hour = rng.choice(24, size=n, p=p)
            yield np.sort(start + hour * HOUR + (rng.random(n) * usable[hour]).astype(np.int64))
            return
        for hour, count in enumerate(rng.multinomial(n, p)):
            if count:
                hour_start = start + hour * HOUR
                yield from _sorted_uniform(rng, hour_start, hour_start + int(usable[hour]), int(count), limit)


def _sorted_uniform(rng: np.random.Generator, begin: int, end: int, n: int, limit: int) -> Iterator[np.ndarray]:
    """n uniform times in [begin, end), ascending, in pieces of at most `limit`:
    a range with too many is split into equal parts first (multinomial counts)."""
    if n <= limit:
        yield np.sort(rng.integers(begin, end, n))
    elif end - begin <= 1:
        for piece in range(0, n, limit):
            yield np.full(min(limit, n - piece), begin, dtype=np.int64)
    else:
        parts = int(min(end - begin, n // limit + 2))
        edges = begin + (end - begin) * np.arange(parts + 1) // parts
        for lo, hi, count in zip(edges[:-1], edges[1:], rng.multinomial(n, np.diff(edges) / (end - begin))):
            if count:
                yield from _sorted_uniform(rng, int(lo), int(hi), int(count), limit)
