"""Scheduled reports: schedules and their validation, periods, datasets read from
the marts, rendering (PDF, Excel, CSV) and email delivery with a ledger that
sends each (schedule, period, recipient) exactly once."""
