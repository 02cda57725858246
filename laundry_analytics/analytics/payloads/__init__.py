"""The built-in payload types, one module each (its payload function and its
PayloadType record). To add a type, write its module and add its record to
BUILT_IN: the CLI, the cache, the Dagster cache assets, report schedules and the
marts a report waits for all follow from the record (README: adding a payload type)."""

from laundry_analytics.analytics.payloads import customers, dashboard, orders, partners, revenue

BUILT_IN = (
    dashboard.PAYLOAD_TYPE,
    revenue.PAYLOAD_TYPE,
    orders.PAYLOAD_TYPE,
    partners.PAYLOAD_TYPE,
    customers.PAYLOAD_TYPE,
)
"""In the order the command line and the docs list them."""
