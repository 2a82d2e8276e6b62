"""Alerts in the server: the worker (readings -> rules engine -> alerts), the alert
lifecycle up to the hygiene officer's review, escalation, notifications, API and SSE."""
