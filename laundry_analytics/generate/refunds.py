"""The refunds step: partial or full refunds of captured payments.

About 3% of completed orders get a refund (40% of them full); every captured
payment of a cancelled or rejected order is refunded in full. A refund exists
only once its creation time has passed `now`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import HOUR, MINUTE
from laundry_analytics.generate.lifecycle import Lifecycle
from laundry_analytics.generate.payments import Payments

REFUND_REASONS = np.array(
    ["damaged item", "late delivery", "missing item", "customer complaint", "overcharge"], dtype=object
)


@dataclass
class Refunds:
    payment: np.ndarray  # payment index within the block
    order: np.ndarray
    payment_unknown: np.ndarray  # recorded without its payment: payment_id NULL
    cents: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    created_at: np.ndarray
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.payment)


def build_refunds(
    rng: np.random.Generator, created: np.ndarray, lifecycle: Lifecycle, payments: Payments, now_us: int
) -> Refunds:
    """Refunds created within 20 days after the order ended and its payment was captured."""
    closed_unpaid = lifecycle.is_cancelled | lifecycle.is_rejected
    captured = np.flatnonzero(payments.status == "completed")
    of_order = payments.order[captured]
    candidates = captured[
        (lifecycle.completed[of_order] & (rng.random(len(captured)) < 0.03)) | closed_unpaid[of_order]
    ]
    order_done = np.where(
        lifecycle.delivered_at > 0, lifecycle.delivered_at, np.maximum(created, lifecycle.cancelled_at)
    )
    created_at = (
        np.maximum(order_done[payments.order[candidates]], payments.paid_at[candidates])
        + rng.integers(1, 20 * 24 * 60, len(candidates)) * MINUTE
    )
    exists = created_at <= now_us
    payment, created_at = candidates[exists], created_at[exists]
    n = len(payment)
    order = payments.order[payment]
    full = closed_unpaid[order] | (rng.random(n) < 0.4)
    cents = np.where(
        full, payments.cents[payment], (payments.cents[payment] * rng.uniform(0.2, 0.7, n)).astype(np.int64)
    )
    status = rng.choice(np.array(["completed", "pending", "failed"], dtype=object), n, p=[0.85, 0.1, 0.05])
    updated_at = np.minimum(created_at + np.where(status == "pending", 0, rng.integers(1, 72, n) * HOUR), now_us)
    return Refunds(
        payment=payment,
        order=order,
        payment_unknown=rng.random(n) < 0.1,
        cents=cents,
        status=status,
        reason=REFUND_REASONS[rng.integers(0, len(REFUND_REASONS), n)],
        created_at=created_at,
        updated_at=updated_at,
    )
