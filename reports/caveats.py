"""What a report says about its own figures, so that none reads as more than it is:

- the scope of its filters, in the labels of its KPIs and tables and in lines
  of its header (`Scope`);
- the days of the period that can still change (orders still open, a day not
  over yet), as notices, and "period incomplete" on every comparison
  (`incomplete_period_notices`);
- footnotes for the KPIs whose breakdown legitimately does not add up to them,
  with the difference and its cause (FOOTNOTES, named by the report layouts of
  laundry_analytics.analytics.payloads; each returns None when the breakdown
  does add up).

Wording only: the figures come from the query API (laundry_analytics.analytics).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from laundry_analytics.analytics.arithmetic import rate
from laundry_analytics.analytics.payload_type import ReportLayout

SHOWN_OPEN_DAYS = 5
"""Days with open orders listed one by one; earlier ones are summed in one line."""
INCOMPLETE = "period incomplete"


def _money(value) -> str:
    return f"{Decimal(value):,.2f}"


@dataclass(frozen=True)
class Scope:
    """A report's filters in words."""

    partner_filter: str
    """What the figures cover under a partner_id filter (ReportLayout.partner_filter)."""
    partner_id: str | None = None
    partner_name: str | None = None
    service_category: str | None = None
    city: str | None = None
    window_days: int | None = None

    @classmethod
    def of(cls, layout: ReportLayout, filters: dict, partner_name: str | None = None) -> Scope:
        return cls(
            layout.partner_filter,
            filters.get("partner_id"),
            partner_name,
            filters.get("service_category"),
            filters.get("city"),
            filters.get("window_days"),
        )

    @property
    def partner(self) -> str | None:
        return (self.partner_name or self.partner_id) if self.partner_id else None

    def order_words(self) -> str:
        """How the filters narrow the orders: "of Sparkle with a Shoe Care item", or ""."""
        words = []
        if self.partner:
            words.append(f"of {self.partner}")
        elif self.city:
            words.append(f"of {self.city} partners")
        if self.service_category:
            words.append(f"with a {self.service_category} item")
        return " ".join(words)

    def count_label(self, noun: str) -> str:
        """A count of orders: "Paid orders with a Shoe Care item"."""
        return f"{noun} {self.order_words()}".strip()

    def amount_label(self, name: str) -> str:
        """A figure over orders: "Total revenue (orders with a Shoe Care item)"."""
        return f"{name} (orders {self.order_words()})" if self.order_words() else name

    def partner_label(self, name: str) -> str:
        """A figure over partners: "Revenue (Lisbon partners)"."""
        who = self.partner or (f"{self.city} partners" if self.city else None)
        return f"{name} ({who})" if who else name

    def partner_count_label(self, name: str = "Partners with orders") -> str:
        """A count of partners: "Lisbon partners with orders"."""
        if self.city and not self.partner:
            return f"{self.city} {name[:1].lower()}{name[1:]}"
        return self.partner_label(name)

    def customer_label(self, name: str, *, counts_customers: bool = True) -> str:
        """ "New customers of Sparkle"; a figure about them: "Churn rate % (Sparkle's customers)"."""
        if not self.partner:
            return name
        return f"{name} of {self.partner}" if counts_customers else f"{name} ({self.partner}'s customers)"

    def label(self, name: str, words: str) -> str:
        """`name` qualified by the filters as `words` says (one of
        laundry_analytics.analytics.payload_type.WORDS)."""
        qualify = {
            "orders": self.amount_label,
            "order_count": self.count_label,
            "partners": self.partner_label,
            "partner_count": self.partner_count_label,
            "customer_count": self.customer_label,
            "customers": lambda text: self.customer_label(text, counts_customers=False),
            "none": lambda text: text,
        }
        return qualify[words](name)

    def lines(self) -> list[str]:
        """One sentence per filter: what the report's figures cover under it."""
        lines = []
        if self.window_days:
            lines.append(
                f"window_days = {self.window_days}: the {self.window_days} days ending on the period's "
                "last day, compared with the same number of days before them."
            )
        if self.partner_id:
            lines.append(f"partner_id = {self.partner_id} ({self.partner_name or 'no name'}): {self.partner_filter}")
        if self.city:
            lines.append(
                f"city = {self.city}: every figure covers the partners whose city is {self.city} "
                "and their orders only (counts, totals, rates, durations, rankings, trend)."
            )
        if self.service_category:
            lines.append(
                f"service_category = {self.service_category}: every order figure (orders, revenue, "
                "payments, refunds, statuses, hours, durations, daily trend) counts the orders with at "
                f"least one {self.service_category} item, with all of their lines and payments; the "
                f"item tables show only {self.service_category} lines."
            )
        return lines


# --- the period's days that can still change ------------------------------------------


def incomplete_period_notices(status: dict) -> list[str]:
    """Notices for `analytics.completeness()`: each day not over yet, each day
    with orders still open (the latest SHOWN_OPEN_DAYS one by one); empty when
    every figure of the period is final."""
    notices = []
    today = status["now"].date()
    for day in status["unfinished_days"]:
        if day > today:
            notices.append(f"{day} has not begun yet.")
        else:
            notices.append(f"{day} is not over yet (data up to {_data_up_to(status['data_up_to'], day)}).")
    open_days = status["open_orders_by_day"]
    earlier, shown = open_days[:-SHOWN_OPEN_DAYS], open_days[-SHOWN_OPEN_DAYS:]
    if earlier:
        still = sum(row["open_orders"] for row in earlier)
        notices.append(
            f"{still:,} of {_orders(sum(row['orders'] for row in earlier))} of {len(earlier)} earlier "
            f"days ({earlier[0]['date']} to {earlier[-1]['date']}) {_are(still)} still open."
        )
    for row in shown:
        notices.append(
            f"{row['open_orders']:,} of {_orders(row['orders'])} of {row['date']} "
            f"{_are(row['open_orders'])} still open."
        )
    if notices:
        notices.append(
            f"Figures of these days can still change: each change vs the previous period is marked "
            f'"{INCOMPLETE}", so an unfinished day does not read as a drop.'
        )
    return notices


def _orders(count: int) -> str:
    return f"{count:,} order{'' if count == 1 else 's'}"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _data_up_to(moment: dt.datetime | None, day: dt.date) -> str:
    if moment is None:
        return "no data yet"
    return moment.strftime("%H:%M %Z" if moment.date() == day else "%Y-%m-%d %H:%M %Z")


def customers_as_of_notice(as_of: dt.date | None, period_end: dt.date) -> str | None:
    if as_of is None:
        return None
    if as_of == period_end:
        return f"Segments, lifetime value and churn risk as of {as_of}, the period's end."
    return (
        f"Segments, lifetime value and churn risk as of {as_of} (the latest build), not of the period's end "
        f"({period_end}): the marts keep only the latest customer state, for both periods compared."
    )


# --- footnotes: breakdowns that do not add up to their KPI ----------------------------

Rows = dict[str, list[dict]]
"""The rows of each table of the report, by table name (as read, before formatting)."""


def payment_method_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Revenue vs the sum of its four payment-method rows."""
    total = p["totals"]["total_revenue"]
    methods = sum((row["revenue"] for row in p["by_payment_method"]), Decimal("0.00"))
    if total == methods:
        return None
    gap = total - methods
    return (
        f"Total revenue {_money(total)} is {_money(abs(gap))} {'more' if gap > 0 else 'less'} than the sum of the "
        f"payment-method rows ({_money(methods)}): captured payments of an unknown method (flagged "
        "unknown_method in analytics.data_quality_issues) count in revenue but in no method row."
    )


def item_sales_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Revenue vs the item sales of the category table."""
    total = p["totals"]["total_revenue"]
    sales = sum((row["item_sales"] for row in p["by_service_category"]), Decimal("0.00"))
    if total == sales:
        return None
    if scope.service_category:
        cause = (
            "the payments captured for those orders, which also pay for their lines of other categories "
            "(and can differ from the lines' price)"
        )
        lines = f"only their {scope.service_category} lines"
    else:
        cause = "the payments captured for those orders, which can differ from the price of their lines"
        lines = "all lines"
    return (
        f"The category table adds up the prices of the paid orders' items ({lines}): {_money(sales)}, "
        f"{_money(abs(total - sales))} {'less' if sales < total else 'more'} than the total revenue "
        f"{_money(total)}, which is {cause}."
    )


def cancelled_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Orders report: "Cancelled" is cancelled or rejected; the status table splits them."""
    by_status = {row["status"]: row["orders"] for row in p["by_status"]}
    if not by_status.get("rejected"):
        return None
    return (
        f"Cancelled ({p['totals']['cancelled_orders']:,}) counts cancelled ({by_status.get('cancelled', 0):,}) "
        f"and rejected ({by_status['rejected']:,}) orders, as the metric defines it; the status table lists "
        "them separately."
    )


def category_orders_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Orders report: the category table counts an order in each of its categories."""
    total = p["totals"]["total_orders"]
    counted = sum(row["orders"] for row in p["by_service_category"])
    if counted == total:
        return None
    return (
        f"The category table counts an order once in each category of its items: its rows add up to "
        f"{counted:,} orders, not {total:,}, because an order with items of several categories counts in "
        "each of them and an order without items in none."
    )


def durations_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Orders report: the stage averages do not add up to the average total duration."""
    minutes = p["average_minutes"]
    stages = [value for name, value in minutes.items() if name != "total" and value is not None]
    if minutes["total"] is None or not stages or sum(stages) == minutes["total"]:
        return None
    return (
        f"The stage averages add up to {_money(sum(stages))} minutes, not the {_money(minutes['total'])} of the "
        "average total: each is averaged over the orders whose stage has ended (a total only once delivered), "
        "so they cover different orders."
    )


def orders_without_partner_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Partners report: the marketplace's orders that no partner has."""
    without = p["orders_without_partner"]
    if not without or not without["orders"]:
        return None
    orders, revenue = p["totals"]["orders_received"], p["totals"]["revenue"]
    return (
        f"Orders received and Revenue cover the orders assigned to a partner; {without['orders']:,} orders of "
        f"the period ({_money(without['revenue'])} revenue) have no partner and are in no partner's figures, "
        f"so the marketplace had {orders + without['orders']:,} orders ({_money(revenue + without['revenue'])} "
        "revenue)."
    )


def mean_rates_footnote(p: dict, scope: Scope, tables: Rows) -> str | None:
    """Partners report: the average rates are means of the partners' rates (the
    rows of its partners table), not the rates of all their orders together."""
    rows = tables["partners"]
    pooled = (
        rate(sum(r["orders_accepted"] for r in rows), sum(r["orders_received"] for r in rows)),
        rate(sum(r["orders_completed"] for r in rows), sum(r["orders_accepted"] for r in rows)),
    )
    means = (p["average_acceptance_rate"], p["average_completion_rate"])
    if pooled == means:
        return None
    shown = [f"{name} {value}%" for name, value in zip(("acceptance", "completion"), pooled) if value is not None]
    return (
        "Avg acceptance and completion rates are the means of the partners' own rates (each partner weighs "
        f"the same, the partners table's rows); over all their orders together the rates are {', '.join(shown)}."
    )


FOOTNOTES: dict[str, Callable[[dict, Scope, Rows], str | None]] = {
    "payment_methods": payment_method_footnote,
    "item_sales": item_sales_footnote,
    "cancelled": cancelled_footnote,
    "category_orders": category_orders_footnote,
    "durations": durations_footnote,
    "orders_without_partner": orders_without_partner_footnote,
    "mean_rates": mean_rates_footnote,
}
"""The footnotes a report layout can name (FootnoteSpec.caveat): (payload, scope,
table rows) -> the footnote, or None when the breakdown adds up."""
