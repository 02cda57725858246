"""The catalogue step: service categories and services with prices and popularity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import Table, money, uuids

CATEGORIES = {
    "Wash & Fold": [
        ("Wash & fold 5 kg", 9.50),
        ("Wash & fold 10 kg", 17.00),
        ("Delicates wash", 12.00),
        ("Express wash 5 kg", 14.00),
        ("Hypoallergenic wash", 11.00),
    ],
    "Dry Cleaning": [
        ("Suit dry clean", 15.00),
        ("Dress dry clean", 13.50),
        ("Coat dry clean", 18.00),
        ("Shirt dry clean", 5.50),
        ("Trousers dry clean", 7.00),
        ("Silk blouse", 9.00),
    ],
    "Ironing": [
        ("Shirt ironing", 2.50),
        ("Trousers ironing", 3.00),
        ("Bed sheet ironing", 4.00),
        ("Ironing bag 5 kg", 12.00),
    ],
    "Bedding": [("Duvet cover", 8.00), ("Duvet king size", 22.00), ("Pillow", 6.00), ("Blanket", 14.00)],
    "Shoe Care": [("Sneaker clean", 12.00), ("Leather shoe polish", 8.00), ("Boot repair", 25.00)],
    "Alterations": [("Hem trousers", 10.00), ("Replace zip", 14.00), ("Take in waist", 16.00), ("Sew button", 3.50)],
}


@dataclass
class Catalogue:
    """Services by index: their ids, prices and how often they are ordered."""

    service_ids: np.ndarray
    price_cents: np.ndarray
    popularity: np.ndarray  # probabilities, sum 1
    tables: dict[str, Table]


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    """The fixed catalogue with random ids, a heavy-tailed popularity and ~5% of
    services inactive."""
    category_names = np.array(list(CATEGORIES), dtype=object)
    category_ids = uuids(rng, len(category_names))
    rows = [
        (category, name, price) for category, services in enumerate(CATEGORIES.values()) for name, price in services
    ]
    category_of_service = np.array([row[0] for row in rows])
    price_cents = np.array([int(round(row[2] * 100)) for row in rows])
    service_ids = uuids(rng, len(rows))
    popularity = rng.pareto(1.5, len(rows)) + 1
    tables = {
        "service_categories": {"id": category_ids, "name": category_names},
        "services": {
            "id": service_ids,
            "category_id": category_ids[category_of_service],
            "name": np.array([row[1] for row in rows], dtype=object),
            "unit_price": money(price_cents),
            "is_active": np.where(rng.random(len(rows)) < 0.95, "t", "f"),
        },
    }
    return Catalogue(service_ids, price_cents, popularity / popularity.sum(), tables)
