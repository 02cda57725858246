"""The issues step: about 4% of the orders that reached a partner report a problem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import MINUTE
from laundry_analytics.generate.lifecycle import Lifecycle

ISSUE_TYPES = np.array(["damaged", "lost", "delay", "other"], dtype=object)


@dataclass
class Issues:
    order: np.ndarray  # order index within the block
    issue_type: np.ndarray  # as recorded (a messy run may record unknown types)
    description: np.ndarray
    created_at: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def build_issues(rng: np.random.Generator, created: np.ndarray, lifecycle: Lifecycle, now_us: int) -> Issues:
    """Issues reported 5 minutes to 3 days after acceptance (never after `now`)."""
    order = np.flatnonzero((lifecycle.accepted_at > 0) & (rng.random(len(created)) < 0.04))
    issue_type = rng.choice(ISSUE_TYPES, len(order), p=[0.3, 0.1, 0.45, 0.15])
    created_at = np.minimum(
        np.maximum(lifecycle.accepted_at[order], created[order]) + rng.integers(5, 3 * 24 * 60, len(order)) * MINUTE,
        now_us,
    )
    description = np.array([f"Reported {t}" for t in issue_type], dtype=object)
    return Issues(order, issue_type, description, created_at)
