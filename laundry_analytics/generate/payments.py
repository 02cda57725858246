"""The payments step: how each order is paid, by its outcome and progress.

Most orders are paid once; some after a failed try, some in two parts with two
methods; prepaid cancellations may be paid (and are refunded later); open orders
may have a pending payment; unpaid cancellations may have failed tries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import DAY, MINUTE
from laundry_analytics.generate.lifecycle import NOT_YET, Lifecycle
from laundry_analytics.ops_schema import PAYMENT_METHODS

METHODS = np.array(PAYMENT_METHODS, dtype=object)
ONLINE_METHODS = METHODS[METHODS != "cash"]  # the ones a customer can pay before pickup


@dataclass
class Payments:
    """Payments of a block, ordered by order and creation time; cents, microseconds."""

    order: np.ndarray
    cents: np.ndarray
    method: np.ndarray
    status: np.ndarray
    created_at: np.ndarray
    paid_at: np.ndarray  # NOT_YET unless captured
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


@dataclass
class _Orders:
    """What the payment rules read of each order of the block."""

    created: np.ndarray
    total: np.ndarray
    method: np.ndarray  # the method it is paid with
    online_method: np.ndarray  # the method of an online try
    pay_time: np.ndarray
    capture_time: np.ndarray


def _orders(
    rng: np.random.Generator,
    created: np.ndarray,
    total: np.ndarray,
    lifecycle: Lifecycle,
    prepaid: np.ndarray,
    now_us: int,
) -> _Orders:
    n = len(created)
    online = rng.choice(ONLINE_METHODS, size=n, p=[0.5, 0.2, 0.3])
    method = np.where(prepaid, online, rng.choice(METHODS, size=n, p=[0.6, 0.3, 0.05, 0.05]))
    delivered_at = lifecycle.delivered_at
    pay_time = np.where(prepaid, created + 2 * MINUTE, np.where(delivered_at > 0, delivered_at, created))
    late_capture = (~prepaid) & (rng.random(n) < 0.05)
    capture_time = np.where(late_capture, pay_time + rng.integers(1, 10, n) * DAY, pay_time)
    capture_time = np.where(capture_time > now_us, pay_time, capture_time)
    return _Orders(created, total, method, online, pay_time, capture_time)


def build_payments(
    rng: np.random.Generator, created: np.ndarray, order_total: np.ndarray, lifecycle: Lifecycle, now_us: int
) -> Payments:
    """Every payment of the block's orders; a completed order's captured
    payments add up to its total."""
    n = len(created)
    status, completed = lifecycle.status, lifecycle.completed
    closed_unpaid = lifecycle.is_cancelled | lifecycle.is_rejected
    prepaid = rng.random(n) < 0.55  # card/online/wallet at creation; the rest pay at delivery
    style = rng.random(n)
    o = _orders(rng, created, order_total, lifecycle, prepaid, now_us)
    payable = completed | ((~completed) & ~closed_unpaid & prepaid) | (closed_unpaid & prepaid & (rng.random(n) < 0.3))
    rows: list[tuple[np.ndarray, ...]] = []  # (order, cents, method, status, created, paid)

    def add(
        idx: np.ndarray, cents: np.ndarray, method: np.ndarray, state: str, created_ts: np.ndarray, paid_ts: np.ndarray
    ) -> None:
        rows.append((idx, cents, method, np.full(len(idx), state, dtype=object), created_ts, paid_ts))

    idx = np.flatnonzero(payable & (style < 0.93))  # paid once, some after a failed try
    add(idx, o.total[idx], o.method[idx], "completed", o.pay_time[idx], o.capture_time[idx])
    idx = np.flatnonzero(payable & (style >= 0.85) & (style < 0.93))
    add(idx, o.total[idx], o.online_method[idx], "failed", o.pay_time[idx] - MINUTE, np.full(len(idx), NOT_YET))
    idx = np.flatnonzero(payable & (style >= 0.93))  # in two parts, the second a minute later
    part = (o.total[idx] * rng.uniform(0.3, 0.7, len(idx))).astype(np.int64)
    add(idx, part, o.method[idx], "completed", o.pay_time[idx], o.capture_time[idx])
    add(
        idx,
        o.total[idx] - part,
        rng.choice(METHODS, len(idx)),
        "completed",
        o.pay_time[idx] + MINUTE,
        o.capture_time[idx] + MINUTE,
    )
    tries = closed_unpaid | (status == "pending")
    unpaid_tries = tries & ~payable & (rng.random(n) < 0.2)
    idx = np.flatnonzero(unpaid_tries)
    add(idx, o.total[idx], o.online_method[idx], "failed", created[idx] + MINUTE, np.full(len(idx), NOT_YET))
    open_order = np.isin(status, ["accepted", "picked_up", "processing"])
    idx = np.flatnonzero((~payable) & (~unpaid_tries) & open_order & (rng.random(n) < 0.3))
    add(idx, o.total[idx], o.method[idx], "pending", created[idx] + MINUTE, np.full(len(idx), NOT_YET))
    return _payments(rows, now_us)


def _payments(rows: list[tuple[np.ndarray, ...]], now_us: int) -> Payments:
    order, cents, method, status, created_at, paid_at = (np.concatenate(column) for column in zip(*rows))
    by_order = np.lexsort((created_at, order))
    order, cents, method, status, created_at, paid_at = (
        a[by_order] for a in (order, cents, method, status, created_at, paid_at)
    )
    # A payment made moments before `now` is not dated in the future.
    created_at = np.minimum(created_at, now_us)
    paid_at = np.where(paid_at >= 0, np.minimum(paid_at, now_us), NOT_YET)
    return Payments(order, cents, method, status, created_at, paid_at, np.maximum(created_at, paid_at))
