"""A deterministic, realistic marketplace for the `ops` schema, loaded with COPY.

`generate()` replaces the ops data with a generated dataset: growth over time,
weekday and hour-of-day seasonality, customers with heavy-tailed repeat
behaviour and churn, partners that differ in speed, capacity, rejection rate and
rating, orders whose stage timestamps follow their status, several or failed
payments, partial and full refunds, reviews, issues, orders still open near
`now` and open orders without a partner. Same arguments, same rows: every random
draw (UUIDs included) comes from generators seeded with `seed`, and the clock
(`now`) is an argument.

The generator runs as named steps, one module each: catalogue, partners,
customers, order_times (with order_stream, which deals the orders out in
blocks), lifecycle, items, payments, refunds, reviews, issues, defects and load;
`generator` runs them in order and `inputs` checks the arguments first.

With `messy_fraction` F, about F of the rows of each affected table get one defect
that the ops constraints allow; `GenerationSummary.defects` lists them by
(table, rule), with the same rule names the dbt staging layer reports.
"""

from laundry_analytics.generate.defects import DEFECT_RULES
from laundry_analytics.generate.generator import GenerationSummary, generate
from laundry_analytics.generate.inputs import MAX_ORDERS, anchor_now

__all__ = ["DEFECT_RULES", "MAX_ORDERS", "GenerationSummary", "anchor_now", "generate"]
