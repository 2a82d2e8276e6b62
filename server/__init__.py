"""FastAPI service: registry, deliveries, alerts, HACCP records, exports, pages."""
