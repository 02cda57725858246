"""`generate()`: the steps in order, loaded in one transaction."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import psycopg

from laundry_analytics.generate import defects as defect_rules
from laundry_analytics.generate.catalogue import build_catalogue
from laundry_analytics.generate.columns import DAY, uuid_text
from laundry_analytics.generate.customers import build_customers
from laundry_analytics.generate.inputs import DEFAULT_BLOCK_SIZE, check_arguments
from laundry_analytics.generate.load import Loader, replacing_ops_data
from laundry_analytics.generate.order_stream import order_blocks
from laundry_analytics.generate.order_times import Calendar
from laundry_analytics.generate.orders import World, block_tables, build_block, inject_defects
from laundry_analytics.generate.partners import build_partners
from laundry_analytics.generate.users import user_tables

#: One random stream per step, all derived from the seed: a step's draws do not
#: shift those of the steps after it.
STREAMS = (
    "catalogue",
    "partners",
    "customers",
    "order_times",
    "users",
    "defects",
    "ids",
    "lifecycle",
    "items",
    "payments",
    "refunds",
    "reviews",
    "issues",
    "row_ids",
)


@dataclass
class GenerationSummary:
    """What `generate` loaded: rows per table, injected defects, wall time."""

    rows: dict[str, int] = field(default_factory=dict)
    defects: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seconds: float = 0.0


def generate(
    conn: psycopg.Connection,
    *,
    schema: str = "ops",
    orders: int = 10_000,
    seed: int = 42,
    start: dt.date | None = None,
    end: dt.date | None = None,
    messy_fraction: float = 0.0,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> GenerationSummary:
    """Replace the ops data with `orders` generated orders and everything around them.

    Orders are created between `start` (default `end` − 365 days) and the end of
    `end` (default: the day of `now`), never after `now`, the generator's clock.
    Same arguments, same rows: with `now` given the wall clock is never read;
    without it the clock is anchored by `inputs.anchor_now` (the end of day `end`
    if that has passed, else the start of the current UTC hour). Loads in one
    transaction: on failure nothing is half-loaded. Orders and what hangs off
    them are generated and loaded `block_size` orders at a time, so memory stays
    bounded by the per-customer arrays and the block, however many orders.
    """
    started = time.monotonic()
    say = progress or (lambda message: None)
    window = check_arguments(
        orders=orders, start=start, end=end, now=now, messy_fraction=messy_fraction, block_size=block_size
    )
    streams = dict(zip(STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STREAMS)))))
    say("generating the catalogue, partners and customers")
    calendar = Calendar.of(window)
    world = World(
        now_us=window.now_us,
        catalogue=build_catalogue(streams["catalogue"]),
        partners=build_partners(streams["partners"], orders, window.start_us),
        customers=build_customers(streams["customers"], orders, calendar, window.start_us - 400 * DAY),
        messy_fraction=messy_fraction,
        streams=streams,
    )
    summary = GenerationSummary()
    with replacing_ops_data(conn, schema) as loader:
        _load_people(loader, world, summary, block_size)
        blocks = order_blocks(streams["order_times"], streams["customers"], calendar, world.customers, block_size)
        first = 0
        for created, customer in blocks:
            say(
                f"generating and loading orders {first + 1:,}..{first + len(created):,} with their items, "
                "payments, refunds, reviews and issues"
            )
            _load_block(loader, world, summary, first, created, customer)
            first += len(created)
        say("validating foreign keys and building indexes")
    summary.rows = loader.rows
    summary.seconds = time.monotonic() - started
    return summary


def _load_people(loader: Loader, world: World, summary: GenerationSummary, chunk: int) -> None:
    """Users, partners and the catalogue, with the users' and partners' defects."""
    rng, customers, partners = world.streams["defects"], world.customers, world.partners
    user_defects, missing_city = defect_rules.UserDefects.none(), np.array([], dtype=np.int64)
    if world.messy_fraction > 0:
        f = defect_rules.rule_fraction(world.messy_fraction)
        user_defects = defect_rules.user_defects(rng, customers, f)
        missing_city = defect_rules.partner_defects(rng, len(partners), f)
        summary.defects.update(
            {
                ("users", "missing_email"): list(uuid_text(customers.ids[user_defects.missing_email])),
                ("users", "duplicate_email"): list(uuid_text(customers.ids[user_defects.duplicate_email])),
                ("partners", "missing_city"): list(partners.ids[missing_city]),
            }
        )
    for table in user_tables(world.streams["users"], customers, user_defects, chunk):
        loader.copy("users", table)
    loader.copy("partners", partners.table(missing_city))
    for name, table in world.catalogue.tables.items():
        loader.copy(name, table)


def _load_block(
    loader: Loader, world: World, summary: GenerationSummary, first: int, created: np.ndarray, customer: np.ndarray
) -> None:
    block = build_block(world, first, created, customer)
    defects = inject_defects(world.streams["defects"], block, world.messy_fraction) if world.messy_fraction else {}
    tables, defect_ids = block_tables(world.streams["row_ids"], world, block, defects)
    for name, table in tables.items():
        loader.copy(name, table)
    for key, found in defect_ids.items():
        summary.defects.setdefault(key, []).extend(found)
