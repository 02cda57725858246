"""The customers step: who orders, how often, from when and until when.

Each customer's number of orders is fixed first: heavy-tailed (most order once,
a few order often), but never more than about one a day of the range nor more
than MAX_CUSTOMER_SHARE of all orders, whatever the size of the run. Customers
are acquired as the marketplace grows (their first order is on that day), and
their further orders spread over a lifetime after which they churn; heavy
customers are acquired early enough to place their orders at that pace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import MINUTE, random_uuids
from laundry_analytics.generate.order_times import Calendar

FIRST_NAMES = [
    "Ana",
    "Joao",
    "Maria",
    "Pedro",
    "Sofia",
    "Tiago",
    "Ines",
    "Rui",
    "Beatriz",
    "Miguel",
    "Carla",
    "Nuno",
    "Marta",
    "Hugo",
    "Rita",
    "Andre",
    "Lara",
    "Diogo",
    "Clara",
    "Bruno",
]
LAST_NAMES = [
    "Silva",
    "Santos",
    "Ferreira",
    "Pereira",
    "Oliveira",
    "Costa",
    "Rodrigues",
    "Martins",
    "Jesus",
    "Sousa",
    "Fernandes",
    "Goncalves",
    "Gomes",
    "Lopes",
    "Marques",
    "Alves",
]

#: No customer holds more than this share of all orders (a shop, not a monopoly).
MAX_CUSTOMER_SHARE = 0.005
#: The heaviest customers (a guest house, a gym) order about once a day.
ORDERS_PER_DAY = 1
#: Pareto index of orders per customer: with the caps above, the top 1% of
#: customers hold about a quarter of the orders once a run has ~50,000 orders or more.
TAIL = 1.3
STAFF = 3


@dataclass
class Customers:
    """Customers by index, in order of acquisition; staff users follow them in
    the user arrays (ids, names, joined)."""

    order_count: np.ndarray  # orders of each customer; sums to the run's orders
    first_day: np.ndarray  # day of the first order (index into the calendar), ascending
    last_day: np.ndarray  # last day the customer may order (churn after it)
    ids: np.ndarray  # raw UUIDs (users, 16 bytes each), staff last
    first_name: np.ndarray  # index into FIRST_NAMES, per user
    last_name: np.ndarray  # index into LAST_NAMES, per user
    joined: np.ndarray  # microseconds, per user

    def __len__(self) -> int:
        return len(self.order_count)


def order_counts(rng: np.random.Generator, orders: int, n_days: int) -> np.ndarray:
    """Orders per customer: capped Pareto draws until they add up to `orders`
    (the last customer's count trimmed to hit it exactly)."""
    cap = max(1, min(int(orders * MAX_CUSTOMER_SHARE), n_days * ORDERS_PER_DAY))
    parts, total = [], 0
    while total < orders:
        size = min(1_000_000, (orders - total) // 3 + 1024)  # bounded temporaries
        draw = np.minimum(np.floor(rng.pareto(TAIL, size)) + 1, cap).astype(np.int32)
        parts.append(draw)
        total += int(draw.sum())
    counts = np.concatenate(parts)
    cumulative = np.cumsum(counts, dtype=np.int64)
    n = int(np.searchsorted(cumulative, orders)) + 1
    counts = counts[:n]
    counts[-1] -= cumulative[n - 1] - orders
    return counts


def build_customers(rng: np.random.Generator, orders: int, calendar: Calendar, staff_joined: int) -> Customers:
    """Customers with their order counts, acquisition day and lifetime, plus the
    user attributes of customers and staff."""
    counts = order_counts(rng, orders, calendar.n_days)
    n = len(counts)
    # Acquisition follows the day weights, up to the last day that leaves room
    # for the customer's orders at ORDERS_PER_DAY.
    latest = calendar.n_days - -(-counts // ORDERS_PER_DAY)
    cdf = np.cumsum(calendar.day_weight)
    first_day = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[latest], side="right"), latest)
    lifetime = np.where(rng.random(n) < 0.3, rng.integers(0, 14, n), rng.exponential(200, n).astype(np.int64))
    last_day = np.minimum(calendar.n_days - 1, first_day + np.maximum(lifetime, counts - 1))
    by_acquisition = np.argsort(first_day, kind="stable")
    counts, first_day, last_day = counts[by_acquisition], first_day[by_acquisition], last_day[by_acquisition]
    # Customers sign up between a minute and 30 days before their first order.
    joined = calendar.day_start(first_day) - rng.integers(1, 30 * 24 * 60, n) * MINUTE
    users = n + STAFF
    return Customers(
        order_count=counts,
        first_day=first_day.astype(np.int32),
        last_day=last_day.astype(np.int32),
        ids=random_uuids(rng, users),
        first_name=rng.integers(0, len(FIRST_NAMES), users).astype(np.uint8),
        last_name=rng.integers(0, len(LAST_NAMES), users).astype(np.uint8),
        joined=np.concatenate([joined, np.full(STAFF, staff_joined)]),
    )


def daily_orders(
    rng: np.random.Generator, customers: Customers, day_weight: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each day of the range: the customers who order that day and how many
    orders each places. A customer's orders left after their first are spread
    over the rest of their lifetime in proportion to the day weights (one
    binomial draw per active customer and day), so every customer places exactly
    their count and only the customers active on a day are in memory for it."""
    before = np.concatenate([[0.0], np.cumsum(day_weight)])  # weight of the days before each day
    new_from = np.searchsorted(customers.first_day, np.arange(len(day_weight) + 1))
    active = np.empty(0, dtype=np.int64)
    remaining = np.empty(0, dtype=np.int64)
    for day, weight in enumerate(day_weight):
        new = np.arange(new_from[day], new_from[day + 1])
        returning = len(active)
        active = np.concatenate([active, new])
        remaining = np.concatenate([remaining, customers.order_count[new] - 1])
        last = customers.last_day[active]
        share = np.where(last == day, 1.0, weight / (before[last + 1] - before[day]))
        placed = rng.binomial(remaining, np.minimum(share, 1.0))
        remaining -= placed
        placed[returning:] += 1  # the first order, on the day of acquisition
        ordering = placed > 0
        yield active[ordering], placed[ordering]
        left = remaining > 0
        active, remaining = active[left], remaining[left]
