"""The reviews step: about 40% of completed orders, rated around their partner's level."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import MINUTE, NULL
from laundry_analytics.generate.lifecycle import Lifecycle
from laundry_analytics.generate.partners import Partners

COMMENTS = np.array(
    [
        "",
        "Great service",
        "Fast and friendly",
        "Clothes came back perfect",
        "A bit late",
        "Missing a sock",
        "Will order again",
        "Not happy with ironing",
    ],
    dtype=object,
)


@dataclass
class Reviews:
    order: np.ndarray  # order index within the block
    rating: np.ndarray
    comment: np.ndarray  # NULL for a rating without words
    created_at: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def build_reviews(rng: np.random.Generator, lifecycle: Lifecycle, partners: Partners, now_us: int) -> Reviews:
    """Reviews written 10 minutes to 7 days after delivery, if that is before `now`."""
    order = np.flatnonzero(lifecycle.completed & (rng.random(len(lifecycle.status)) < 0.4))
    created_at = lifecycle.delivered_at[order] + rng.integers(10, 7 * 24 * 60, len(order)) * MINUTE
    written = created_at <= now_us
    order, created_at = order[written], created_at[written]
    level = partners.rating[lifecycle.partner[order]]
    rating = np.clip(np.rint(rng.normal(level, 0.9)), 1, 5).astype(int)
    comment = COMMENTS[rng.integers(0, len(COMMENTS), len(order))]
    comment[comment == ""] = NULL
    return Reviews(order, rating, comment, created_at)
