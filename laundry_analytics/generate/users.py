"""The users table: customers (in order of acquisition) then staff, written in chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from laundry_analytics.generate.columns import NULL, Table, ids, nullable, ts
from laundry_analytics.generate.customers import FIRST_NAMES, LAST_NAMES, Customers
from laundry_analytics.generate.defects import UserDefects

_FIRST = np.array(FIRST_NAMES, dtype=object)
_LAST = np.array(LAST_NAMES, dtype=object)


def _emails(customers: Customers, rows: np.ndarray) -> np.ndarray:
    """first.last<row>@example.com: unique by the row number."""
    first = np.char.lower(_FIRST[customers.first_name[rows]].astype(str)).astype(object)
    last = np.char.lower(_LAST[customers.last_name[rows]].astype(str)).astype(object)
    return first + "." + last + rows.astype(str).astype(object) + "@example.com"


def user_tables(rng: np.random.Generator, customers: Customers, defects: UserDefects, chunk: int) -> Iterator[Table]:
    """The users table, `chunk` rows at a time (only a chunk's strings exist at once)."""
    users = len(customers.ids)
    missing = np.zeros(users, dtype=bool)
    missing[defects.missing_email] = True
    copied_from = np.full(users, -1, dtype=np.int64)
    copied_from[defects.duplicate_email] = defects.email_source
    for lo in range(0, users, chunk):
        rows = np.arange(lo, min(lo + chunk, users))
        email = _emails(customers, rows)
        copies = copied_from[rows] >= 0
        email[copies] = [address.upper() for address in _emails(customers, copied_from[rows][copies])]
        email[missing[rows]] = NULL
        n = len(rows)
        phones = np.char.add("+351 9", np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8))
        yield {
            "id": ids(customers.ids[rows]),
            "email": email,
            "full_name": _FIRST[customers.first_name[rows]] + " " + _LAST[customers.last_name[rows]],
            "phone": nullable(phones, rng.random(n) < 0.15),
            "date_joined": ts(customers.joined[rows]),
            "is_active": np.where(rng.random(n) < 0.97, "t", "f"),
            "is_staff": np.where(rows >= len(customers), "t", "f"),
        }
