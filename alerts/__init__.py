"""Compliance rules engine: limits per product, excursions judged on device time.

Public entry points (docs/alerts.md): `alerts.engine.Engine`, `alerts.config.LocationConfig`,
`alerts.limits.Lot` / `limit_for_lots`, `alerts.profiles.load_profiles`, and the events of
`alerts.events`.
"""
