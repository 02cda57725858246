"""A deterministic, realistic marketplace for the `ops` schema, loaded with COPY.

`generate()` replaces the ops data with a generated dataset: growth over time,
weekday and hour-of-day seasonality, customers with Pareto-like repeat behaviour
and churn, partners that differ in speed, capacity, rejection rate and rating,
orders whose stage timestamps follow their status, several or failed payments,
partial and full refunds, reviews, issues, orders still open near `now` and open
orders without a partner. Same arguments, same bytes: every random draw (UUIDs
included) comes from one `numpy.random.Generator` seeded with `seed`.

With `messy_fraction` F, about F of the rows of each affected table get one defect
that the ops constraints allow; `GenerationSummary.defects` lists them by
(table, rule), with the same rule names the dbt staging layer reports.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import psycopg
from psycopg import sql

from laundry_analytics.ops_schema import bulk_load, truncate_ops_schema

MINUTE = 60_000_000  # microseconds
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NULL = "\\N"

CATEGORIES = {
    "Wash & Fold": [("Wash & fold 5 kg", 9.50), ("Wash & fold 10 kg", 17.00), ("Delicates wash", 12.00),
                    ("Express wash 5 kg", 14.00), ("Hypoallergenic wash", 11.00)],
    "Dry Cleaning": [("Suit dry clean", 15.00), ("Dress dry clean", 13.50), ("Coat dry clean", 18.00),
                     ("Shirt dry clean", 5.50), ("Trousers dry clean", 7.00), ("Silk blouse", 9.00)],
    "Ironing": [("Shirt ironing", 2.50), ("Trousers ironing", 3.00), ("Bed sheet ironing", 4.00),
                ("Ironing bag 5 kg", 12.00)],
    "Bedding": [("Duvet cover", 8.00), ("Duvet king size", 22.00), ("Pillow", 6.00), ("Blanket", 14.00)],
    "Shoe Care": [("Sneaker clean", 12.00), ("Leather shoe polish", 8.00), ("Boot repair", 25.00)],
    "Alterations": [("Hem trousers", 10.00), ("Replace zip", 14.00), ("Take in waist", 16.00),
                    ("Sew button", 3.50)],
}
CITIES = ["Lisbon", "Porto", "Braga", "Coimbra", "Faro", "Aveiro", "Setubal", "Funchal"]
FIRST_NAMES = ["Ana", "Joao", "Maria", "Pedro", "Sofia", "Tiago", "Ines", "Rui", "Beatriz", "Miguel",
               "Carla", "Nuno", "Marta", "Hugo", "Rita", "Andre", "Lara", "Diogo", "Clara", "Bruno"]
LAST_NAMES = ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins",
              "Jesus", "Sousa", "Fernandes", "Goncalves", "Gomes", "Lopes", "Marques", "Alves"]
PARTNER_WORDS = ["Clean", "Fresh", "Bright", "Spark", "Bubble", "Crisp", "Pure", "Swift"]
METHODS = np.array(["cash", "card", "wallet", "online"])
ISSUE_TYPES = np.array(["damaged", "lost", "delay", "other"])
REFUND_REASONS = np.array(["damaged item", "late delivery", "missing item", "customer complaint", "overcharge"])
HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.2, 3, 5, 6, 5.5, 5, 5, 4.5, 4, 4, 4.5, 5.5, 7, 7.5, 6,
                         4, 2.5, 1.5])
WEEKDAY_WEIGHTS = np.array([1.15, 1.0, 0.95, 1.0, 1.05, 1.3, 1.2])  # Monday … Sunday

#: (table, rule) of every defect `messy_fraction` can inject; dbt staging reports the same names.
DEFECT_RULES = (
    ("orders", "unknown_status"), ("orders", "negative_duration"), ("orders", "missing_timestamp"),
    ("orders", "amount_mismatch"), ("order_items", "line_total_mismatch"),
    ("payments", "unknown_method"), ("payments", "unknown_status"), ("payments", "negative_amount"),
    ("payments", "duplicate"), ("payments", "missing_paid_at"),
    ("refunds", "unknown_status"), ("refunds", "negative_amount"),
    ("order_issues", "unknown_issue_type"), ("users", "missing_email"), ("users", "duplicate_email"),
    ("partners", "missing_city"),
)


@dataclass
class GenerationSummary:
    """What `generate` loaded: rows per table, injected defects, wall time."""

    rows: dict[str, int] = field(default_factory=dict)
    defects: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seconds: float = 0.0


# --- formatting helpers (vectorised) ----------------------------------------------


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as text."""
    raw = rng.integers(0, 2**63 - 1, size=(n, 2), dtype=np.int64).astype(np.uint64)
    hi = np.char.mod("%016x", raw[:, 0])
    lo = np.char.mod("%016x", raw[:, 1])
    return np.array([f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{l[1:4]}-{l[4:16]}" for h, l in zip(hi, lo)], dtype=object)


def _timestamps(micros: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch (int64, -1 for NULL) as timestamptz text."""
    text = np.char.add(np.datetime_as_string(micros.astype("datetime64[us]"), unit="us"), "Z").astype(object)
    text[micros < 0] = NULL
    return text


def _money(cents: np.ndarray) -> np.ndarray:
    sign = np.where(cents < 0, "-", "")
    absolute = np.abs(cents)
    return np.char.add(np.char.add(sign, (absolute // 100).astype(str)),
                       np.char.add(".", np.char.zfill((absolute % 100).astype(str), 2))).astype(object)


@dataclass
class _Formatted:
    """A numeric column formatted to COPY text chunk by chunk (bounded memory)."""

    values: np.ndarray
    format: Callable[[np.ndarray], np.ndarray]


def _ts(micros: np.ndarray) -> _Formatted:
    return _Formatted(micros, _timestamps)


def _cash(cents: np.ndarray) -> _Formatted:
    return _Formatted(cents, _money)


def _nullable(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = values.astype(str).astype(object)
    out[missing] = NULL
    return out


def _copy(cursor: psycopg.Cursor, schema: str, table: str, columns: Sequence[str],
          data: Sequence[np.ndarray], chunk: int = 100_000) -> int:
    """COPY the column arrays into schema.table, as text rows in chunks."""
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    def text(column, begin: int) -> np.ndarray:
        if isinstance(column, _Formatted):
            return column.format(column.values[begin:begin + chunk])
        part = column[begin:begin + chunk]
        # Python str objects join far faster than numpy's fixed-width strings.
        return part if part.dtype == object else part.astype(str).astype(object)

    n = len(data[0].values if isinstance(data[0], _Formatted) else data[0])
    with cursor.copy(statement) as copy:
        for begin in range(0, n, chunk):
            block = [text(column, begin) for column in data]
            copy.write("\n".join(map("\t".join, zip(*block))) + "\n")
    return n


def _pick(rng: np.random.Generator, candidates: np.ndarray, fraction: float, taken: np.ndarray) -> np.ndarray:
    """About `fraction` of `candidates` (indices) not yet in `taken`, marked as taken."""
    free = candidates[~taken[candidates]]
    count = min(len(free), int(round(len(candidates) * fraction))) if fraction > 0 else 0
    if count == 0 and fraction > 0 and len(free) > 0:
        count = 1
    chosen = np.sort(rng.choice(free, size=count, replace=False)) if count else np.array([], dtype=np.int64)
    taken[chosen] = True
    return chosen


# --- the generator ------------------------------------------------------------------


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
    block_size: int = 250_000,
) -> GenerationSummary:
    """Replace the ops data with `orders` generated orders and everything around them.

    Orders are created between `start` (default `end` − 365 days) and the end of
    `end` (default today, UTC), never after `now` (default: the current time).
    Loads in one transaction: on failure nothing is half-loaded. Orders and their
    items, payments, refunds, reviews and issues are generated and loaded
    `block_size` orders at a time, so memory stays bounded however many orders.
    """
    started = time.monotonic()
    say = progress or (lambda message: None)
    if orders < 1:
        raise ValueError(f"orders must be at least 1, not {orders}")
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, not {block_size}")
    if not 0.0 <= messy_fraction <= 0.5:
        raise ValueError(f"messy_fraction must be between 0 and 0.5, not {messy_fraction}")
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    end = end or now.astimezone(dt.timezone.utc).date()
    start = start or end - dt.timedelta(days=365)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")

    rng = np.random.default_rng(seed)
    now_us = int(now.timestamp() * 1_000_000)
    start_us = int(dt.datetime.combine(start, dt.time(), dt.timezone.utc).timestamp() * 1_000_000)
    end_us = min(int(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.timezone.utc).timestamp()
                     * 1_000_000), now_us)
    if end_us <= start_us:
        raise ValueError(f"the range {start}..{end} lies after now ({now.isoformat()})")
    summary = GenerationSummary()
    tables: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    n_orders = orders

    say("generating catalogue and partners")
    # Catalogue.
    category_names = np.array(list(CATEGORIES), dtype=object)
    category_ids = _uuids(rng, len(category_names))
    service_rows = [(ci, name, price) for ci, services in enumerate(CATEGORIES.values()) for name, price in services]
    service_category = np.array([row[0] for row in service_rows])
    service_price_cents = np.array([int(round(row[2] * 100)) for row in service_rows])
    service_ids = _uuids(rng, len(service_rows))
    service_popularity = rng.pareto(1.5, len(service_rows)) + 1
    service_popularity /= service_popularity.sum()
    tables["service_categories"] = (["id", "name"], [category_ids, category_names])
    tables["services"] = (["id", "category_id", "name", "unit_price", "is_active"], [
        service_ids, category_ids[service_category], np.array([r[1] for r in service_rows], dtype=object),
        _money(service_price_cents), np.where(rng.random(len(service_rows)) < 0.95, "t", "f"),
    ])

    # Partners: popularity, speed, rejection rate and rating level differ.
    n_partners = int(min(5000, max(5, orders // 200)))
    partner_ids = _uuids(rng, n_partners)
    partner_popularity = rng.pareto(1.2, n_partners) + 1
    partner_popularity /= partner_popularity.sum()
    partner_speed = rng.lognormal(0.0, 0.35, n_partners)
    partner_reject_rate = rng.beta(2, 30, n_partners)
    partner_rating = rng.uniform(3.0, 4.9, n_partners)
    partner_created = start_us - rng.integers(30, 720, n_partners) * DAY
    partner_capacity = rng.integers(15, 120, n_partners)
    partner_city = rng.choice(np.array(CITIES, dtype=object), n_partners)
    partner_names = np.array([f"{PARTNER_WORDS[i % len(PARTNER_WORDS)]} {LAST_NAMES[(i // 8) % len(LAST_NAMES)]} "
                              f"Laundry {i + 1}" for i in range(n_partners)], dtype=object)

    # Order times: growth over the range, weekday and hour-of-day seasonality.
    say(f"generating {orders:,} order times and their customers")
    first_day = start_us // DAY
    n_days = int((end_us - 1) // DAY - first_day + 1)
    day_index = np.arange(n_days)
    weekday = (first_day + day_index + 3) % 7  # 1970-01-01 was a Thursday (3)
    day_weight = (1.0 + 2.0 * day_index / max(1, n_days - 1)) * WEEKDAY_WEIGHTS[weekday]
    order_day = np.sort(rng.choice(n_days, size=orders, p=day_weight / day_weight.sum()))
    order_hour = rng.choice(24, size=orders, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    all_created = (first_day + order_day) * DAY + order_hour * HOUR + rng.integers(0, HOUR, orders)
    all_created = np.clip(all_created, start_us, end_us - 1)
    all_created.sort()
    order_day = all_created // DAY - first_day
    del order_hour

    # Customers: acquisition follows growth; Pareto-like repeat weights; churn after a lifetime.
    n_customers = max(10, orders // 4)
    customer_start_day = np.sort(rng.choice(n_days, size=n_customers, p=day_weight / day_weight.sum()))
    customer_weight = rng.pareto(1.1, n_customers) + 0.2
    customer_lifetime = np.where(rng.random(n_customers) < 0.3, rng.integers(0, 14, n_customers),
                                 rng.exponential(200, n_customers).astype(np.int64))
    all_customers = np.empty(orders, dtype=np.int64)
    day_starts = np.searchsorted(order_day, day_index)
    day_ends = np.searchsorted(order_day, day_index, side="right")
    joined_by_day = np.searchsorted(customer_start_day, day_index, side="right")
    for d in range(n_days):
        count = day_ends[d] - day_starts[d]
        if not count:
            continue
        pool = np.arange(max(1, joined_by_day[d]))
        active = pool[customer_start_day[pool] + customer_lifetime[pool] >= d]
        if len(active) == 0:
            active = pool
        weights = customer_weight[active]
        all_customers[day_starts[d]:day_ends[d]] = rng.choice(active, size=count, p=weights / weights.sum())
    used_customers, all_customers = np.unique(all_customers, return_inverse=True)
    n_customers = len(used_customers)
    first_order_at = np.full(n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first_order_at, all_customers, all_created)
    del order_day
    n_staff = 3
    n_users = n_customers + n_staff
    user_ids = _uuids(rng, n_users)
    joined = np.concatenate([first_order_at - rng.integers(1, 60 * 24 * 30, n_customers) * MINUTE,
                             np.full(n_staff, start_us - 400 * DAY)])
    first = rng.integers(0, len(FIRST_NAMES), n_users)
    last = rng.integers(0, len(LAST_NAMES), n_users)
    full_names = np.array([f"{FIRST_NAMES[f]} {LAST_NAMES[l]}" for f, l in zip(first, last)], dtype=object)
    emails = np.array([f"{FIRST_NAMES[f].lower()}.{LAST_NAMES[l].lower()}{i}@example.com"
                       for i, (f, l) in enumerate(zip(first, last))], dtype=object)
    phones = np.array([f"+351 9{n:08d}" for n in rng.integers(0, 10**8, n_users)], dtype=object)
    phone_missing = rng.random(n_users) < 0.15

    # Defects of users and partners; those of orders and below are injected per block.
    defects: dict[tuple[str, str], np.ndarray] = {}
    email_text = emails.copy()
    city_text = partner_city.copy()
    if messy_fraction > 0:
        f = messy_fraction / 4  # several rules share a table: keep the total near F
        user_taken = np.zeros(n_users, dtype=bool)
        rows = _pick(rng, np.arange(n_customers), f * 2, user_taken)
        defects[("users", "missing_email")] = rows
        email_text[rows] = NULL
        # A later-joined customer gets the email of an earlier one (other case).
        later = _pick(rng, np.arange(n_customers), f * 2, user_taken)
        earlier_pool = np.flatnonzero(~user_taken[:n_customers])
        keep_pairs = []
        for row in later:
            older = earlier_pool[joined[earlier_pool] < joined[row]]
            if len(older):
                keep_pairs.append(row)
                email_text[row] = str(email_text[older[rng.integers(0, len(older))]]).upper()
        defects[("users", "duplicate_email")] = np.array(keep_pairs, dtype=np.int64)

        partner_taken = np.zeros(n_partners, dtype=bool)
        rows = _pick(rng, np.arange(n_partners), f * 4, partner_taken)
        defects[("partners", "missing_city")] = rows
        city_text[rows] = NULL
    summary.defects = {key: [str({"users": user_ids, "partners": partner_ids}[key[0]][i]) for i in rows]
                       for key, rows in defects.items()}
    tables["users"] = (["id", "email", "full_name", "phone", "date_joined", "is_active", "is_staff"], [
        user_ids, email_text, full_names, _nullable(phones, phone_missing), _ts(joined),
        np.where(rng.random(n_users) < 0.97, "t", "f"), np.r_[np.full(n_customers, "f"), np.full(n_staff, "t")],
    ])
    tables["partners"] = (["id", "business_name", "city", "daily_capacity", "is_active", "created_at"], [
        partner_ids, partner_names, city_text,
        _nullable(partner_capacity, rng.random(n_partners) < 0.1), np.where(rng.random(n_partners) < 0.9, "t", "f"),
        _ts(partner_created),
    ])

    def order_block(lo: int, hi: int) -> tuple[dict, dict[tuple[str, str], list[str]]]:
        """Orders lo..hi-1 (in creation order) with their items, payments, refunds,
        reviews and issues as COPY columns, and the ids of the defects injected into
        them. Generated a block at a time, so memory is bounded by the block size."""
        orders = hi - lo
        created = all_created[lo:hi]
        customer_of_order = all_customers[lo:hi]
        order_ids = _uuids(rng, orders)
        tables: dict[str, tuple[list[str], list]] = {}
        defects: dict[tuple[str, str], np.ndarray] = {}

        # Partner assignment and outcome.
        partner_of_order = rng.choice(n_partners, size=orders, p=partner_popularity)
        speed = partner_speed[partner_of_order]
        accept_gap = (rng.lognormal(np.log(15), 0.8, orders) * speed * MINUTE).astype(np.int64)
        pickup_gap = (rng.lognormal(np.log(120), 0.6, orders) * speed * MINUTE).astype(np.int64)
        process_gap = (rng.lognormal(np.log(1200), 0.4, orders) * speed * MINUTE).astype(np.int64)
        delivery_gap = (rng.lognormal(np.log(150), 0.5, orders) * speed * MINUTE).astype(np.int64)
        accepted = created + accept_gap
        picked_up = accepted + pickup_gap
        ready = picked_up + process_gap
        delivered = ready + delivery_gap
        outcome = rng.random(orders)
        rejected_mask = outcome < partner_reject_rate[partner_of_order]
        cancelled_mask = (~rejected_mask) & (outcome > 0.93)
        cancel_after_accept = cancelled_mask & (rng.random(orders) < 0.4)
        cancelled_at = np.where(cancel_after_accept, accepted + rng.integers(1, 120, orders) * MINUTE,
                                created + rng.integers(1, 60, orders) * MINUTE)
        stuck = rng.random(orders) < 0.004  # abandoned in an open state long ago

        status = np.full(orders, "completed", dtype=object)
        # Progress of every order at `now`.
        status[now_us < delivered] = "out_for_delivery"
        status[now_us < ready + delivery_gap // 2] = "ready"
        status[now_us < ready] = "processing"
        status[now_us < picked_up + 30 * MINUTE] = "picked_up"
        status[now_us < picked_up] = "accepted"
        status[now_us < accepted] = "pending"
        status[stuck & (status == "completed")] = "processing"
        is_rejected = rejected_mask & (accepted <= now_us)
        is_cancelled = cancelled_mask & (cancelled_at <= now_us)
        status[is_rejected] = "rejected"
        status[is_cancelled] = "cancelled"

        def reached(ts: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return np.where(mask & (ts <= now_us), ts, -1)

        progressing = ~(is_rejected | is_cancelled)
        stuck_open = stuck & (status == "processing")
        accepted_at = np.where(is_cancelled & cancel_after_accept, accepted, reached(accepted, progressing))
        picked_up_at = reached(picked_up, progressing)
        ready_at = reached(ready, progressing & ~stuck_open)
        delivered_at = reached(delivered, progressing & ~stuck_open & (status == "completed"))
        rejected_at = np.where(is_rejected, accepted, -1)
        cancelled_at = np.where(is_cancelled, cancelled_at, -1)
        no_partner = (status == "pending") & (rng.random(orders) < 0.5)
        partner_column = np.where(no_partner, NULL, partner_ids[partner_of_order]).astype(object)

        # Items.
        lines_per_order = rng.choice([1, 2, 3, 4], size=orders, p=[0.45, 0.3, 0.15, 0.1])
        item_order = np.repeat(np.arange(orders), lines_per_order)
        n_items = len(item_order)
        item_service = rng.choice(len(service_rows), size=n_items, p=service_popularity)
        item_quantity = np.minimum(rng.geometric(0.45, n_items), 12)
        item_price = service_price_cents[item_service]
        item_total = item_quantity * item_price
        order_total = np.bincount(item_order, weights=item_total, minlength=orders).astype(np.int64)

        # Payments: by outcome and progress.
        completed = status == "completed"
        prepaid = rng.random(orders) < 0.55  # card/online/wallet at creation; the rest pay at delivery
        pay_style = rng.random(orders)
        pay_rows: list[tuple[np.ndarray, ...]] = []  # (order index, cents, method, status, created, paid)

        def add_payments(idx: np.ndarray, cents: np.ndarray, method: np.ndarray, state: str,
                         created_ts: np.ndarray, paid_ts: np.ndarray) -> None:
            pay_rows.append((idx, cents, method, np.full(len(idx), state, dtype=object), created_ts, paid_ts))

        online_methods = rng.choice(METHODS[1:], size=orders, p=[0.5, 0.2, 0.3])
        method = np.where(prepaid, online_methods, rng.choice(METHODS, size=orders, p=[0.6, 0.3, 0.05, 0.05]))
        pay_time = np.where(prepaid, created + 2 * MINUTE, np.where(delivered_at > 0, delivered_at, created))
        late_capture = (~prepaid) & (rng.random(orders) < 0.05)
        capture_time = np.where(late_capture, pay_time + rng.integers(1, 10, orders) * DAY, pay_time)
        capture_time = np.where(capture_time > now_us, pay_time, capture_time)
        paid_open = (~completed) & (status != "rejected") & (status != "cancelled") & prepaid
        paid_cancelled = (is_cancelled | is_rejected) & prepaid & (rng.random(orders) < 0.3)
        payable = completed | paid_open | paid_cancelled
        single = payable & (pay_style < 0.85)
        retried = payable & (pay_style >= 0.85) & (pay_style < 0.93)
        split = payable & (pay_style >= 0.93)
        idx = np.flatnonzero(single | retried)
        add_payments(idx, order_total[idx], method[idx], "completed", pay_time[idx], capture_time[idx])
        idx = np.flatnonzero(retried)
        add_payments(idx, order_total[idx], online_methods[idx], "failed", pay_time[idx] - MINUTE,
                     np.full(len(idx), -1))
        idx = np.flatnonzero(split)
        part = (order_total[idx] * rng.uniform(0.3, 0.7, len(idx))).astype(np.int64)
        add_payments(idx, part, method[idx], "completed", pay_time[idx], capture_time[idx])
        add_payments(idx, order_total[idx] - part, rng.choice(METHODS, len(idx)), "completed",
                     pay_time[idx] + MINUTE, capture_time[idx] + MINUTE)
        unpaid_tries = (is_cancelled | is_rejected | (status == "pending")) & ~payable & (rng.random(orders) < 0.2)
        idx = np.flatnonzero(unpaid_tries)
        add_payments(idx, order_total[idx], online_methods[idx],
                     "failed", created[idx] + MINUTE, np.full(len(idx), -1))
        pending_pay = (~payable) & (~unpaid_tries) & np.isin(status, ["accepted", "picked_up", "processing"]) & (
            rng.random(orders) < 0.3)
        idx = np.flatnonzero(pending_pay)
        add_payments(idx, order_total[idx], method[idx], "pending", created[idx] + MINUTE, np.full(len(idx), -1))
        pay_order, pay_cents, pay_method, pay_status, pay_created, pay_paid = (np.concatenate(c) for c in zip(*pay_rows))
        order_by = np.lexsort((pay_created, pay_order))
        pay_order, pay_cents, pay_method, pay_status, pay_created, pay_paid = (
            a[order_by] for a in (pay_order, pay_cents, pay_method, pay_status, pay_created, pay_paid))
        # A payment made moments before `now` is not dated in the future.
        pay_created = np.minimum(pay_created, now_us)
        pay_paid = np.where(pay_paid >= 0, np.minimum(pay_paid, now_us), -1)
        pay_updated = np.maximum(pay_created, pay_paid)
        n_payments = len(pay_order)
        payment_ids = _uuids(rng, n_payments)

        # Refunds: partial or full, of completed payments; every prepaid cancellation is refunded.
        captured_payment = np.flatnonzero(pay_status == "completed")
        order_done = np.where(delivered_at > 0, delivered_at, np.maximum(created, cancelled_at))
        refund_candidates = captured_payment[
            (completed[pay_order[captured_payment]] & (rng.random(len(captured_payment)) < 0.03))
            | (is_cancelled | is_rejected)[pay_order[captured_payment]]
        ]
        refund_created = np.maximum(order_done[pay_order[refund_candidates]], pay_paid[refund_candidates]) + \
            rng.integers(1, 20 * 24 * 60, len(refund_candidates)) * MINUTE
        keep = refund_created <= now_us
        refund_payment = refund_candidates[keep]
        refund_created = refund_created[keep]
        n_refunds = len(refund_payment)
        refund_order = pay_order[refund_payment]
        full = (is_cancelled | is_rejected)[refund_order] | (rng.random(n_refunds) < 0.4)
        refund_cents = np.where(full, pay_cents[refund_payment],
                                (pay_cents[refund_payment] * rng.uniform(0.2, 0.7, n_refunds)).astype(np.int64))
        refund_status = rng.choice(np.array(["completed", "pending", "failed"], dtype=object), n_refunds,
                                   p=[0.85, 0.1, 0.05])
        refund_updated = refund_created + np.where(refund_status == "pending", 0,
                                                   rng.integers(1, 72, n_refunds) * HOUR)
        refund_updated = np.minimum(refund_updated, now_us)
        refund_ids = _uuids(rng, n_refunds)
        refund_payment_column = np.where(rng.random(n_refunds) < 0.1, NULL, payment_ids[refund_payment]).astype(object)

        # Reviews: ~40% of completed orders, ratings around the partner's level.
        review_order = np.flatnonzero(completed & (rng.random(orders) < 0.4))
        review_created = delivered_at[review_order] + rng.integers(10, 7 * 24 * 60, len(review_order)) * MINUTE
        keep = review_created <= now_us
        review_order, review_created = review_order[keep], review_created[keep]
        rating = np.clip(np.rint(rng.normal(partner_rating[partner_of_order[review_order]], 0.9)), 1, 5).astype(int)
        review_ids = _uuids(rng, len(review_order))
        comments = np.array(["", "Great service", "Fast and friendly", "Clothes came back perfect", "A bit late",
                             "Missing a sock", "Will order again", "Not happy with ironing"], dtype=object)
        review_comment = comments[rng.integers(0, len(comments), len(review_order))]
        review_comment[review_comment == ""] = NULL

        # Issues: ~4% of orders that reached a partner.
        issue_order = np.flatnonzero((accepted_at > 0) & (rng.random(orders) < 0.04))
        issue_type = rng.choice(ISSUE_TYPES, len(issue_order), p=[0.3, 0.1, 0.45, 0.15]).astype(object)
        issue_created = np.minimum(np.maximum(accepted_at[issue_order], created[issue_order])
                                   + rng.integers(5, 3 * 24 * 60, len(issue_order)) * MINUTE, now_us)
        issue_ids = _uuids(rng, len(issue_order))

        # Realistic defects, at most one per row.
        order_status_text = status.copy()
        order_updated = np.max(np.stack([created, accepted_at, rejected_at, picked_up_at, ready_at, delivered_at,
                                         cancelled_at]), axis=0)
        item_total_text_cents = item_total.copy()
        order_total_text_cents = order_total.copy()
        pay_method_text, pay_status_text = pay_method.astype(object), pay_status.copy()
        refund_status_text = refund_status.copy()
        issue_type_text = issue_type.copy()
        duplicate_payment_rows = np.array([], dtype=np.int64)
        if messy_fraction > 0:
            f = messy_fraction / 4  # several rules share a table: keep the total near F
            taken = np.zeros(orders, dtype=bool)
            done = np.flatnonzero(completed & (delivered_at > 0))
            rows = _pick(rng, np.arange(orders), f, taken)
            defects[("orders", "unknown_status")] = rows
            order_status_text[rows] = rng.choice(np.array(["on_hold", "disputed", "lost_in_transit"], dtype=object),
                                                 len(rows))
            rows = _pick(rng, done, f, taken)
            defects[("orders", "negative_duration")] = rows
            picked_up_at[rows] = accepted_at[rows] - rng.integers(5, 120, len(rows)) * MINUTE
            picked_up_at[rows] = np.maximum(picked_up_at[rows], created[rows])  # only pickup < accepted breaks
            rows = _pick(rng, done, f, taken)
            defects[("orders", "missing_timestamp")] = rows
            delivered_at[rows] = -1
            rows = _pick(rng, np.arange(orders), f, taken)
            defects[("orders", "amount_mismatch")] = rows
            order_total_text_cents[rows] += rng.integers(1, 500, len(rows))
            variants = np.flatnonzero(~taken & (rng.random(orders) < f))  # normalised silently, no defect
            order_status_text[variants] = [s.title() if i % 2 else f" {s} " for i, s in
                                           enumerate(order_status_text[variants])]

            item_taken = np.zeros(n_items, dtype=bool)
            item_taken[np.isin(item_order, defects[("orders", "amount_mismatch")])] = True
            rows = _pick(rng, np.arange(n_items), f, item_taken)
            defects[("order_items", "line_total_mismatch")] = rows
            item_total_text_cents[rows] += rng.integers(1, 300, len(rows))

            pay_taken = np.zeros(n_payments, dtype=bool)
            rows = _pick(rng, np.arange(n_payments), f, pay_taken)
            defects[("payments", "unknown_method")] = rows
            pay_method_text[rows] = rng.choice(np.array(["crypto", "voucher", "bank_transfer"], dtype=object), len(rows))
            rows = _pick(rng, np.arange(n_payments), f, pay_taken)
            defects[("payments", "unknown_status")] = rows
            pay_status_text[rows] = rng.choice(np.array(["refunded", "chargeback"], dtype=object), len(rows))
            rows = _pick(rng, np.arange(n_payments), f, pay_taken)
            defects[("payments", "negative_amount")] = rows
            pay_cents[rows] = -pay_cents[rows] - 1
            completed_paid = np.flatnonzero(pay_status == "completed")
            rows = _pick(rng, completed_paid, f, pay_taken)
            defects[("payments", "missing_paid_at")] = rows
            pay_paid[rows] = -1
            duplicate_payment_rows = _pick(rng, np.arange(n_payments), f, pay_taken)

            refund_taken = np.zeros(n_refunds, dtype=bool)
            rows = _pick(rng, np.arange(n_refunds), f * 2, refund_taken)
            defects[("refunds", "unknown_status")] = rows
            refund_status_text[rows] = "reversed"
            rows = _pick(rng, np.arange(n_refunds), f * 2, refund_taken)
            defects[("refunds", "negative_amount")] = rows
            refund_cents[rows] = -refund_cents[rows] - 1

            issue_taken = np.zeros(len(issue_order), dtype=bool)
            rows = _pick(rng, np.arange(len(issue_order)), f * 4, issue_taken)
            defects[("order_issues", "unknown_issue_type")] = rows
            issue_type_text[rows] = rng.choice(np.array(["missing_button", "wrong_item", "smell"], dtype=object),
                                               len(rows))


        # Assemble and load.
        order_updated = np.max(np.stack([created, accepted_at, rejected_at, picked_up_at, ready_at, delivered_at,
                                         cancelled_at, order_updated]), axis=0)
        pay_updated = np.maximum(pay_updated, np.maximum(pay_created, pay_paid))
        if len(duplicate_payment_rows):
            # A copy of a payment under a new id, identical in every other column.
            copies = duplicate_payment_rows
            payment_ids = np.concatenate([payment_ids, _uuids(rng, len(copies))])
            pay_order, pay_cents, pay_method_text, pay_status_text, pay_created, pay_paid, pay_updated = (
                np.concatenate([a, a[copies]]) for a in
                (pay_order, pay_cents, pay_method_text, pay_status_text, pay_created, pay_paid, pay_updated))
            defects[("payments", "duplicate")] = np.arange(n_payments, n_payments + len(copies))
        payment_columns = [payment_ids, order_ids[pay_order], _cash(pay_cents), pay_method_text, pay_status_text,
                           _ts(pay_created), _ts(pay_paid), _ts(pay_updated)]

        order_years = created.astype("datetime64[us]").astype("datetime64[Y]").astype(int) + 1970
        order_numbers = np.array([f"LC-{year}-{lo + i + 1:08d}" for i, year in enumerate(order_years)], dtype=object)
        tables["orders"] = (["id", "order_number", "customer_id", "partner_id", "status", "total_amount", "created_at",
                             "accepted_at", "rejected_at", "picked_up_at", "ready_at", "delivered_at", "cancelled_at",
                             "updated_at"], [
            order_ids, order_numbers, user_ids[customer_of_order], partner_column, order_status_text,
            _cash(order_total_text_cents), _ts(created), _ts(accepted_at), _ts(rejected_at),
            _ts(picked_up_at), _ts(ready_at), _ts(delivered_at), _ts(cancelled_at),
            _ts(order_updated),
        ])
        tables["order_items"] = (["id", "order_id", "service_id", "quantity", "unit_price", "line_total"], [
            _uuids(rng, n_items), order_ids[item_order], service_ids[item_service], item_quantity,
            _cash(item_price), _cash(item_total_text_cents),
        ])
        tables["payments"] = (["id", "order_id", "amount", "method", "status", "created_at", "paid_at", "updated_at"],
                              payment_columns)
        tables["refunds"] = (["id", "order_id", "payment_id", "amount", "status", "reason", "created_at", "updated_at"], [
            refund_ids, order_ids[refund_order], refund_payment_column, _cash(refund_cents), refund_status_text,
            REFUND_REASONS[rng.integers(0, len(REFUND_REASONS), n_refunds)].astype(object),
            _ts(refund_created), _ts(refund_updated),
        ])
        tables["reviews"] = (["id", "order_id", "customer_id", "partner_id", "rating", "comment", "created_at"], [
            review_ids, order_ids[review_order], user_ids[customer_of_order[review_order]],
            partner_ids[partner_of_order[review_order]], rating, review_comment, _ts(review_created),
        ])
        tables["order_issues"] = (["id", "order_id", "issue_type", "description", "created_at"], [
            issue_ids, order_ids[issue_order], issue_type_text,
            np.array([f"Reported {t}" for t in issue_type], dtype=object), _ts(issue_created),
        ])

        id_columns = {"orders": order_ids, "order_items": tables["order_items"][1][0], "payments": payment_columns[0],
                      "refunds": refund_ids,
                      "order_issues": issue_ids}
        return tables, {key: [str(id_columns[key[0]][i]) for i in rows] for key, rows in defects.items()}

    with conn.transaction(), conn.cursor() as cursor, bulk_load(conn, schema):
        truncate_ops_schema(conn, schema)
        for table in ("users", "partners", "service_categories", "services"):
            say(f"loading {table}")
            columns, data = tables[table]
            summary.rows[table] = _copy(cursor, schema, table, columns, data)
        del tables, emails, email_text, full_names, phones  # only the ids are needed from here on
        for lo in range(0, n_orders, block_size):
            hi = min(lo + block_size, n_orders)
            say(f"generating and loading orders {lo + 1:,}..{hi:,} with their items, payments, refunds, "
                "reviews and issues")
            block, block_defects = order_block(lo, hi)
            for table in block:
                columns, data = block[table]
                summary.rows[table] = summary.rows.get(table, 0) + _copy(cursor, schema, table, columns, data)
            for key, ids in block_defects.items():
                summary.defects.setdefault(key, []).extend(ids)
        say("validating foreign keys and building indexes")
    summary.seconds = time.monotonic() - started
    return summary
