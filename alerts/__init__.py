"""Compliance rules engine: limits per product, excursions judged on device time."""
