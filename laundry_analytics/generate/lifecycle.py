"""The lifecycle step: each order's partner, outcome, status at `now` and stage timestamps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import MINUTE
from laundry_analytics.generate.partners import Partners

NOT_YET = -1  # a stage timestamp that is NULL


@dataclass
class Lifecycle:
    """Per order of a block: timestamps in microseconds, NOT_YET where NULL."""

    partner: np.ndarray  # partner index
    no_partner: np.ndarray  # open orders not yet assigned: partner_id NULL
    status: np.ndarray
    accepted_at: np.ndarray
    rejected_at: np.ndarray
    picked_up_at: np.ndarray
    ready_at: np.ndarray
    delivered_at: np.ndarray
    cancelled_at: np.ndarray
    is_rejected: np.ndarray
    is_cancelled: np.ndarray

    @property
    def completed(self) -> np.ndarray:
        return self.status == "completed"

    def updated_at(self, created: np.ndarray) -> np.ndarray:
        """The latest of the order's timestamps."""
        return np.max(
            np.stack(
                [
                    created,
                    self.accepted_at,
                    self.rejected_at,
                    self.picked_up_at,
                    self.ready_at,
                    self.delivered_at,
                    self.cancelled_at,
                ]
            ),
            axis=0,
        )


@dataclass
class _Plan:
    """When each stage would happen if the order ran its course."""

    accepted: np.ndarray
    picked_up: np.ndarray
    ready: np.ndarray
    delivered: np.ndarray
    delivery_gap: np.ndarray


def _plan(rng: np.random.Generator, created: np.ndarray, speed: np.ndarray) -> _Plan:
    n = len(created)

    def gap(median_minutes: float, sigma: float) -> np.ndarray:
        return (rng.lognormal(np.log(median_minutes), sigma, n) * speed * MINUTE).astype(np.int64)

    accepted = created + gap(15, 0.8)
    picked_up = accepted + gap(120, 0.6)
    ready = picked_up + gap(1200, 0.4)
    delivery_gap = gap(150, 0.5)
    return _Plan(accepted, picked_up, ready, ready + delivery_gap, delivery_gap)


def _status_at(now_us: int, plan: _Plan, stuck: np.ndarray) -> np.ndarray:
    """How far each order has got by `now` (before rejections and cancellations)."""
    status = np.full(len(stuck), "completed", dtype=object)
    status[now_us < plan.delivered] = "out_for_delivery"
    status[now_us < plan.ready + plan.delivery_gap // 2] = "ready"
    status[now_us < plan.ready] = "processing"
    status[now_us < plan.picked_up + 30 * MINUTE] = "picked_up"
    status[now_us < plan.picked_up] = "accepted"
    status[now_us < plan.accepted] = "pending"
    status[stuck & (status == "completed")] = "processing"  # abandoned in an open state long ago
    return status


def build_lifecycle(rng: np.random.Generator, created: np.ndarray, partners: Partners, now_us: int) -> Lifecycle:
    """Assign partners by popularity, plan every stage at the partner's speed,
    then decide rejections, cancellations and what has happened by `now`."""
    n = len(created)
    partner = rng.choice(len(partners), size=n, p=partners.popularity)
    plan = _plan(rng, created, partners.speed[partner])
    outcome = rng.random(n)
    rejected = outcome < partners.reject_rate[partner]
    cancelled = (~rejected) & (outcome > 0.93)
    cancel_after_accept = cancelled & (rng.random(n) < 0.4)
    cancel_time = np.where(
        cancel_after_accept, plan.accepted + rng.integers(1, 120, n) * MINUTE, created + rng.integers(1, 60, n) * MINUTE
    )
    stuck = rng.random(n) < 0.004
    status = _status_at(now_us, plan, stuck)
    is_rejected = rejected & (plan.accepted <= now_us)
    is_cancelled = cancelled & (cancel_time <= now_us)
    status[is_rejected] = "rejected"
    status[is_cancelled] = "cancelled"

    def reached(moment: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.where(mask & (moment <= now_us), moment, NOT_YET)

    progressing = ~(is_rejected | is_cancelled)
    stuck_open = stuck & (status == "processing")
    return Lifecycle(
        partner=partner,
        no_partner=(status == "pending") & (rng.random(n) < 0.5),
        status=status,
        accepted_at=np.where(is_cancelled & cancel_after_accept, plan.accepted, reached(plan.accepted, progressing)),
        rejected_at=np.where(is_rejected, plan.accepted, NOT_YET),
        picked_up_at=reached(plan.picked_up, progressing),
        ready_at=reached(plan.ready, progressing & ~stuck_open),
        delivered_at=reached(plan.delivered, progressing & ~stuck_open & (status == "completed")),
        cancelled_at=np.where(is_cancelled, cancel_time, NOT_YET),
        is_rejected=is_rejected,
        is_cancelled=is_cancelled,
    )
