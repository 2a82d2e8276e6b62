"""Sealed HACCP records of deliveries, their verification, exports and retention (docs/records.md)."""
