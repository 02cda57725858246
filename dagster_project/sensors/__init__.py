"""Sensors: the report sensor (due report schedules → one run per schedule and period)."""
