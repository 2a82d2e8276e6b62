"""A stored alert event and the Dutch text the server makes of it: shared by the Dutch tests
of the records (tests/records/test_dutch.py) and of the e-mails
(tests/alerting/test_dutch_notifications.py)."""

from __future__ import annotations

from typing import Any

# The stored event of a closed warning, as alerts/events.py publishes it (AlertEvent.to_dict):
# what the server makes the Dutch text from.
EVENT: dict[str, Any] = {
    "kind": "temperature_excursion",
    "status": "closed",
    "severity": "warning",
    "location_name": "Zone frais",
    "probe_id": "van-a-1",
    "channel": "air",
    "detail": "",
    "duration_ms": 10 * 60_000,
    "peak": 6.5,
    "limit": {"max_c": 4.0, "min_c": None, "category": "minced_meat", "label_applied": False},
}
DUTCH_TEXT = (
    "Zone frais: 6,5 °C boven de grenswaarde van 4 °C (gehakt vlees, lucht) gedurende 10 min"
)
