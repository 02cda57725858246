"""Orders in creation order, `block_size` at a time: their times and customers.

Day by day, the customers step says who orders and how often, the order-times
step says when; the pieces are cut into blocks of exactly `block_size` orders
(the last one shorter). Memory holds the per-customer arrays and about two
blocks, however many orders the run has.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from laundry_analytics.generate.customers import Customers, daily_orders
from laundry_analytics.generate.order_times import Calendar


def _pieces(
    times_rng: np.random.Generator,
    customers_rng: np.random.Generator,
    calendar: Calendar,
    customers: Customers,
    limit: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(times, customers) of at most `limit` orders each, times ascending across pieces.
    A day bigger than `limit` is dealt out piece by piece without replacement."""
    for day, (who, count) in enumerate(daily_orders(customers_rng, customers, calendar.day_weight)):
        remaining = count
        left = int(count.sum())
        for times in calendar.times(times_rng, day, left, limit):
            take = (
                remaining
                if len(times) == left
                else customers_rng.multivariate_hypergeometric(remaining, len(times), method="marginals")
            )
            remaining, left = remaining - take, left - len(times)
            yield times, customers_rng.permutation(np.repeat(who, take))


def order_blocks(
    times_rng: np.random.Generator,
    customers_rng: np.random.Generator,
    calendar: Calendar,
    customers: Customers,
    block_size: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(created, customer) of every order in creation order, in blocks of `block_size`."""
    held: list[tuple[np.ndarray, np.ndarray]] = []
    size = 0
    for piece in _pieces(times_rng, customers_rng, calendar, customers, block_size):
        held.append(piece)
        size += len(piece[0])
        if size >= block_size:
            created, customer = (np.concatenate(column) for column in zip(*held))
            yield created[:block_size], customer[:block_size]
            held, size = [(created[block_size:], customer[block_size:])], size - block_size
    if size:
        yield tuple(np.concatenate(column) for column in zip(*held))
