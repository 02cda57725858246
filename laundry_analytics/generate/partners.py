"""The partners step: laundries that differ in popularity, speed, rejection rate and rating."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import DAY, NULL, Table, nullable, ts, uuids
from laundry_analytics.generate.customers import LAST_NAMES

CITIES = ["Lisbon", "Porto", "Braga", "Coimbra", "Faro", "Aveiro", "Setubal", "Funchal"]
PARTNER_WORDS = ["Clean", "Fresh", "Bright", "Spark", "Bubble", "Crisp", "Pure", "Swift"]


@dataclass
class Partners:
    """Partners by index (a few thousand at most, so their text ids are kept)."""

    ids: np.ndarray
    popularity: np.ndarray  # share of orders, sum 1
    speed: np.ndarray  # multiplies every stage duration
    reject_rate: np.ndarray
    rating: np.ndarray  # the level their reviews scatter around
    created: np.ndarray
    capacity: np.ndarray
    capacity_missing: np.ndarray
    is_active: np.ndarray
    city: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def table(self, missing_city: np.ndarray) -> Table:
        """The partners table, with NULL cities at the rows `missing_city`."""
        city = self.city.copy()
        city[missing_city] = NULL
        n = len(self)
        names = np.array(
            [
                f"{PARTNER_WORDS[i % len(PARTNER_WORDS)]} {LAST_NAMES[(i // 8) % len(LAST_NAMES)]} Laundry {i + 1}"
                for i in range(n)
            ],
            dtype=object,
        )
        return {
            "id": self.ids,
            "business_name": names,
            "city": city,
            "daily_capacity": nullable(self.capacity, self.capacity_missing),
            "is_active": np.where(self.is_active, "t", "f"),
            "created_at": ts(self.created),
        }


def partner_count(orders: int) -> int:
    """One partner per ~200 orders, between 5 and 5,000."""
    return int(min(5000, max(5, orders // 200)))


def build_partners(rng: np.random.Generator, orders: int, start_us: int) -> Partners:
    """Partners with a heavy-tailed popularity, all created before the first order."""
    n = partner_count(orders)
    ids = uuids(rng, n)
    popularity = rng.pareto(1.2, n) + 1
    return Partners(
        ids=ids,
        popularity=popularity / popularity.sum(),
        speed=rng.lognormal(0.0, 0.35, n),
        reject_rate=rng.beta(2, 30, n),
        rating=rng.uniform(3.0, 4.9, n),
        created=start_us - rng.integers(30, 720, n) * DAY,
        capacity=rng.integers(15, 120, n),
        capacity_missing=rng.random(n) < 0.1,
        is_active=rng.random(n) < 0.9,
        city=rng.choice(np.array(CITIES, dtype=object), n),
    )
