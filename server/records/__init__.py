"""Sealed HACCP records of deliveries: verification, exports, retention (docs/records.md)."""
