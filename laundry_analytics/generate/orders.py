"""One block of orders with everything that hangs off them, as tables to copy.

The steps run in order on the block (lifecycle, items, payments, refunds,
reviews, issues, then defects), each with its own random stream, so a block
depends only on its orders' times and customers and the streams' state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laundry_analytics.generate import defects as defect_rules
from laundry_analytics.generate.catalogue import Catalogue
from laundry_analytics.generate.columns import NULL, Table, cash, ids, random_uuids, ts, uuid_text
from laundry_analytics.generate.customers import Customers
from laundry_analytics.generate.issues import Issues, build_issues
from laundry_analytics.generate.items import Items, build_items
from laundry_analytics.generate.lifecycle import Lifecycle, build_lifecycle
from laundry_analytics.generate.partners import Partners
from laundry_analytics.generate.payments import Payments, build_payments
from laundry_analytics.generate.refunds import Refunds, build_refunds
from laundry_analytics.generate.reviews import Reviews, build_reviews


@dataclass
class World:
    """What every block reads: the run's clock, catalogue, partners and customers."""

    now_us: int
    catalogue: Catalogue
    partners: Partners
    customers: Customers
    messy_fraction: float
    streams: dict[str, np.random.Generator]


@dataclass
class OrderBlock:
    first: int  # number of orders before this block (order numbers continue from it)
    created: np.ndarray
    customer: np.ndarray  # customer index
    ids: np.ndarray  # raw UUIDs
    lifecycle: Lifecycle
    items: Items
    payments: Payments
    refunds: Refunds
    reviews: Reviews
    issues: Issues
    status_text: np.ndarray  # the status as recorded (a messy run records some oddly)
    total_text: np.ndarray  # the total as recorded, in cents
    updated_at: np.ndarray


def build_block(world: World, first: int, created: np.ndarray, customer: np.ndarray) -> OrderBlock:
    """Orders created at `created` (ascending) by `customer`, with their lifecycle,
    items, payments, refunds, reviews and issues."""
    rng = world.streams
    lifecycle = build_lifecycle(rng["lifecycle"], created, world.partners, world.now_us)
    items = build_items(rng["items"], len(created), world.catalogue)
    payments = build_payments(rng["payments"], created, items.order_total, lifecycle, world.now_us)
    return OrderBlock(
        first=first,
        created=created,
        customer=customer,
        ids=random_uuids(rng["ids"], len(created)),
        lifecycle=lifecycle,
        items=items,
        payments=payments,
        refunds=build_refunds(rng["refunds"], created, lifecycle, payments, world.now_us),
        reviews=build_reviews(rng["reviews"], lifecycle, world.partners, world.now_us),
        issues=build_issues(rng["issues"], created, lifecycle, world.now_us),
        status_text=lifecycle.status.copy(),
        total_text=items.order_total.copy(),
        updated_at=lifecycle.updated_at(created),
    )


def inject_defects(rng: np.random.Generator, block: OrderBlock, messy_fraction: float) -> defect_rules.Rows:
    """The block's defects by rule (rows of each table), applied to the block."""
    f = defect_rules.rule_fraction(messy_fraction)
    rows = defect_rules.order_defects(rng, block, f)
    rows |= defect_rules.item_defects(rng, block, rows[("orders", "amount_mismatch")], f)
    rows |= defect_rules.payment_defects(rng, block.payments, block.refunds.payment, f)
    rows |= defect_rules.refund_defects(rng, block, f)
    rows |= defect_rules.issue_defects(rng, block, f)
    return rows


def block_tables(
    rng: np.random.Generator, world: World, block: OrderBlock, defects: defect_rules.Rows
) -> tuple[dict[str, Table], dict[tuple[str, str], list[str]]]:
    """The block as COPY tables, and the ids of its defective rows by rule."""
    life, items, payments, refunds = block.lifecycle, block.items, block.payments, block.refunds
    reviews, issues = block.reviews, block.issues
    order_ids = uuid_text(block.ids)
    item_ids, payment_ids = random_uuids(rng, len(items)), random_uuids(rng, len(payments))
    refund_ids, review_ids, issue_ids = (
        random_uuids(rng, len(refunds)),
        random_uuids(rng, len(reviews)),
        random_uuids(rng, len(issues)),
    )
    customer_ids = world.customers.ids[block.customer]
    years = block.created.astype("datetime64[us]").astype("datetime64[Y]").astype(int) + 1970
    numbers = np.arange(block.first + 1, block.first + len(block.created) + 1)
    partner_ids = np.where(life.no_partner, NULL, world.partners.ids[life.partner]).astype(object)
    tables: dict[str, Table] = {
        "orders": {
            "id": order_ids,
            "order_number": np.array([f"LC-{year}-{number:08d}" for year, number in zip(years, numbers)], dtype=object),
            "customer_id": ids(customer_ids),
            "partner_id": partner_ids,
            "status": block.status_text,
            "total_amount": cash(block.total_text),
            "created_at": ts(block.created),
            **{
                stage: ts(getattr(life, stage))
                for stage in ("accepted_at", "rejected_at", "picked_up_at", "ready_at", "delivered_at", "cancelled_at")
            },
            "updated_at": ts(block.updated_at),
        },
        "order_items": {
            "id": ids(item_ids),
            "order_id": order_ids[items.order],
            "service_id": world.catalogue.service_ids[items.service],
            "quantity": items.quantity,
            "unit_price": cash(items.unit_price),
            "line_total": cash(items.line_total),
        },
        "payments": {
            "id": ids(payment_ids),
            "order_id": order_ids[payments.order],
            "amount": cash(payments.cents),
            "method": payments.method,
            "status": payments.status,
            "created_at": ts(payments.created_at),
            "paid_at": ts(payments.paid_at),
            "updated_at": ts(payments.updated_at),
        },
        "refunds": {
            "id": ids(refund_ids),
            "order_id": order_ids[refunds.order],
            "payment_id": np.where(refunds.payment_unknown, NULL, uuid_text(payment_ids[refunds.payment])).astype(
                object
            ),
            "amount": cash(refunds.cents),
            "status": refunds.status,
            "reason": refunds.reason,
            "created_at": ts(refunds.created_at),
            "updated_at": ts(refunds.updated_at),
        },
        "reviews": {
            "id": ids(review_ids),
            "order_id": order_ids[reviews.order],
            "customer_id": ids(customer_ids[reviews.order]),
            "partner_id": world.partners.ids[life.partner[reviews.order]],
            "rating": reviews.rating,
            "comment": reviews.comment,
            "created_at": ts(reviews.created_at),
        },
        "order_issues": {
            "id": ids(issue_ids),
            "order_id": order_ids[issues.order],
            "issue_type": issues.issue_type,
            "description": issues.description,
            "created_at": ts(issues.created_at),
        },
    }
    raw_ids = {
        "orders": block.ids,
        "order_items": item_ids,
        "payments": payment_ids,
        "refunds": refund_ids,
        "order_issues": issue_ids,
    }
    defect_ids = {key: list(uuid_text(raw_ids[key[0]][rows])) for key, rows in defects.items()}
    return tables, defect_ids
