"""The defects step: with `messy_fraction` F, about F of the rows of each affected
table get one defect that the ops constraints allow, at most one per row.

Each function picks rows, changes them and returns them by rule; the caller turns
rows into ids for `GenerationSummary.defects`. The rule names are those the dbt
staging layer reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate.columns import MINUTE
from laundry_analytics.generate.customers import Customers
from laundry_analytics.generate.payments import Payments

#: (table, rule) of every defect `messy_fraction` can inject; dbt staging reports the same names.
DEFECT_RULES = (
    ("orders", "unknown_status"),
    ("orders", "negative_duration"),
    ("orders", "missing_timestamp"),
    ("orders", "amount_mismatch"),
    ("order_items", "line_total_mismatch"),
    ("payments", "unknown_method"),
    ("payments", "unknown_status"),
    ("payments", "negative_amount"),
    ("payments", "possible_duplicate"),
    ("payments", "missing_paid_at"),
    ("refunds", "unknown_status"),
    ("refunds", "negative_amount"),
    ("order_issues", "unknown_issue_type"),
    ("users", "missing_email"),
    ("users", "duplicate_email"),
    ("partners", "missing_city"),
)

Rows = dict[tuple[str, str], np.ndarray]


def rule_fraction(messy_fraction: float) -> float:
    """Several rules share a table: each gets a quarter, to keep the total near F."""
    return messy_fraction / 4


def pick(rng: np.random.Generator, candidates: np.ndarray, fraction: float, taken: np.ndarray) -> np.ndarray:
    """About `fraction` of `candidates` (indices) not yet in `taken` (at least one
    if any is free), marked as taken."""
    free = candidates[~taken[candidates]]
    count = min(len(free), int(round(len(candidates) * fraction))) if fraction > 0 else 0
    if count == 0 and fraction > 0 and len(free) > 0:
        count = 1
    chosen = np.sort(rng.choice(free, size=count, replace=False)) if count else np.array([], dtype=np.int64)
    taken[chosen] = True
    return chosen


@dataclass
class UserDefects:
    """Rows of the users table to damage when it is written."""

    missing_email: np.ndarray
    duplicate_email: np.ndarray  # customers given the email of an earlier-joined one…
    email_source: np.ndarray  # …this one (upper-cased), per duplicate_email row

    @classmethod
    def none(cls) -> UserDefects:
        empty = np.array([], dtype=np.int64)
        return cls(empty, empty, empty)


def user_defects(rng: np.random.Generator, customers: Customers, f: float) -> UserDefects:
    """Missing emails, and customers who signed up again with the email of an
    earlier-joined customer in other case (a customer with no earlier one is skipped)."""
    n = len(customers)
    taken = np.zeros(n, dtype=bool)
    missing = pick(rng, np.arange(n), f * 2, taken)
    later = pick(rng, np.arange(n), f * 2, taken)
    earlier = np.flatnonzero(~taken)
    earlier = earlier[np.argsort(customers.joined[earlier], kind="stable")]
    older_count = np.searchsorted(customers.joined[earlier], customers.joined[later], side="left")
    has_older = older_count > 0
    later, older_count = later[has_older], older_count[has_older]
    source = earlier[(rng.random(len(later)) * older_count).astype(np.int64)]
    return UserDefects(missing, later, source)


def partner_defects(rng: np.random.Generator, partners: int, f: float) -> np.ndarray:
    """Partners without a city."""
    return pick(rng, np.arange(partners), f * 4, np.zeros(partners, dtype=bool))


def order_defects(rng: np.random.Generator, block, f: float) -> Rows:
    """Unknown statuses, a pickup before acceptance, a completed order without
    its delivery time, a total that is not the sum of its lines; and, without a
    defect, statuses in other case or padded (staging normalises them)."""
    life, n = block.lifecycle, len(block.created)
    taken = np.zeros(n, dtype=bool)
    done = np.flatnonzero(life.completed & (life.delivered_at > 0))
    rows: Rows = {}
    chosen = rows[("orders", "unknown_status")] = pick(rng, np.arange(n), f, taken)
    block.status_text[chosen] = rng.choice(
        np.array(["on_hold", "disputed", "lost_in_transit"], dtype=object), len(chosen)
    )
    chosen = rows[("orders", "negative_duration")] = pick(rng, done, f, taken)
    early = life.accepted_at[chosen] - rng.integers(5, 120, len(chosen)) * MINUTE
    life.picked_up_at[chosen] = np.maximum(early, block.created[chosen])  # only pickup < accepted breaks
    chosen = rows[("orders", "missing_timestamp")] = pick(rng, done, f, taken)
    life.delivered_at[chosen] = -1
    chosen = rows[("orders", "amount_mismatch")] = pick(rng, np.arange(n), f, taken)
    block.total_text[chosen] += rng.integers(1, 500, len(chosen))
    variants = np.flatnonzero(~taken & (rng.random(n) < f))
    block.status_text[variants] = [s.title() if i % 2 else f" {s} " for i, s in enumerate(block.status_text[variants])]
    return rows


def item_defects(rng: np.random.Generator, block, mismatched_orders: np.ndarray, f: float) -> Rows:
    """Line totals that are not quantity × unit price (not on orders whose total
    is already wrong, so each defect stays visible on its own)."""
    items = block.items
    taken = np.isin(items.order, mismatched_orders)
    chosen = pick(rng, np.arange(len(items)), f, taken)
    items.line_total[chosen] += rng.integers(1, 300, len(chosen))
    return {("order_items", "line_total_mismatch"): chosen}


def refund_defects(rng: np.random.Generator, block, f: float) -> Rows:
    """Refunds of an unknown status or a negative amount."""
    refunds = block.refunds
    taken = np.zeros(len(refunds), dtype=bool)
    rows: Rows = {}
    chosen = rows[("refunds", "unknown_status")] = pick(rng, np.arange(len(refunds)), f * 2, taken)
    refunds.status[chosen] = "reversed"
    chosen = rows[("refunds", "negative_amount")] = pick(rng, np.arange(len(refunds)), f * 2, taken)
    refunds.cents[chosen] = -refunds.cents[chosen] - 1
    return rows


def issue_defects(rng: np.random.Generator, block, f: float) -> Rows:
    """Issues of a type the app does not know."""
    issues = block.issues
    chosen = pick(rng, np.arange(len(issues)), f * 4, np.zeros(len(issues), dtype=bool))
    issues.issue_type[chosen] = rng.choice(
        np.array(["missing_button", "wrong_item", "smell"], dtype=object), len(chosen)
    )
    return {("order_issues", "unknown_issue_type"): chosen}


def payment_defects(rng: np.random.Generator, payments: Payments, refunded: np.ndarray, f: float) -> Rows:
    """Unknown methods and statuses, negative amounts, captures without a time,
    then identical split payments (see `split_payments`)."""
    n = len(payments)
    taken = np.zeros(n, dtype=bool)
    captured = np.flatnonzero(payments.status == "completed")
    rows: Rows = {}
    chosen = rows[("payments", "unknown_method")] = pick(rng, np.arange(n), f, taken)
    payments.method[chosen] = rng.choice(np.array(["crypto", "voucher", "bank_transfer"], dtype=object), len(chosen))
    chosen = rows[("payments", "unknown_status")] = pick(rng, np.arange(n), f, taken)
    payments.status[chosen] = rng.choice(np.array(["refunded", "chargeback"], dtype=object), len(chosen))
    chosen = rows[("payments", "negative_amount")] = pick(rng, np.arange(n), f, taken)
    payments.cents[chosen] = -payments.cents[chosen] - 1
    chosen = rows[("payments", "missing_paid_at")] = pick(rng, captured, f, taken)
    payments.paid_at[chosen] = -1
    rows[("payments", "possible_duplicate")] = split_payments(rng, payments, captured, refunded, f, taken)
    return rows


def split_payments(
    rng: np.random.Generator,
    payments: Payments,
    captured: np.ndarray,
    refunded: np.ndarray,
    f: float,
    taken: np.ndarray,
) -> np.ndarray:
    """Replace captured payments of an even number of cents by two rows that are
    identical apart from the id, each of half the amount: a split payment or
    instalments recorded alike. Both rows count as revenue, so the order's
    captured total is unchanged. Refunded payments are left whole (a refund
    refers to one row). Returns the rows of both halves."""
    candidates = captured[
        (payments.cents[captured] % 2 == 0) & (payments.cents[captured] > 0) & ~np.isin(captured, refunded)
    ]
    chosen = pick(rng, candidates, f, taken)
    payments.cents[chosen] //= 2
    n = len(payments)
    for name in ("order", "cents", "method", "status", "created_at", "paid_at", "updated_at"):
        column = getattr(payments, name)
        setattr(payments, name, np.concatenate([column, column[chosen]]))
    return np.concatenate([chosen, np.arange(n, n + len(chosen))])
