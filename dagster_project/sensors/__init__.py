"""Sensors: due report schedules (reports) and failure alerts (alerts)."""
