"""The items step: each order's lines (one to four services) and its total."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.catalogue import Catalogue


@dataclass
class Items:
    """Order lines of a block; amounts in cents."""

    order: np.ndarray  # order index within the block
    service: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    line_total: np.ndarray
    order_total: np.ndarray  # per order of the block: the sum of its lines

    def __len__(self) -> int:
        return len(self.order)


def build_items(rng: np.random.Generator, orders: int, catalogue: Catalogue) -> Items:
    """Lines by service popularity, small quantities (geometric, at most 12)."""
    lines_per_order = rng.choice([1, 2, 3, 4], size=orders, p=[0.45, 0.3, 0.15, 0.1])
    order = np.repeat(np.arange(orders), lines_per_order)
    service = rng.choice(len(catalogue.service_ids), size=len(order), p=catalogue.popularity)
    quantity = np.minimum(rng.geometric(0.45, len(order)), 12)
    unit_price = catalogue.price_cents[service]
    line_total = quantity * unit_price
    order_total = np.bincount(order, weights=line_total, minlength=orders).astype(np.int64)
    return Items(order, service, quantity, unit_price, line_total, order_total)
