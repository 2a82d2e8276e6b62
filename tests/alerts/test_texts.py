"""Alert texts (alerts/texts.py) take their figures from the limit in force, whose one home
is alerts/profiles.toml: no figure of the policy is written in a text."""

from __future__ import annotations

import dataclasses

from alerts.findings import AlertKind, Record, Severity
from alerts.limits import limit_for_category
from alerts.profiles import ProductProfile, load_profiles
from alerts.texts import facts, facts_of_event, text, texts
from tests.alerts.helpers import MIN, T0


def tolerated(profiles: dict[str, ProductProfile]) -> Record:
    """Quick-frozen goods in a van at -16 °C: within the transport tolerance (the severity
    engines before state version 2 published)."""
    record = Record(AlertKind.TEMPERATURE, "p1", "product", T0, side=1)
    record.limit = limit_for_category(profiles, "quick_frozen", None, transport=True)
    record.peak, record.last_out_ms = -16.0, T0 + 10 * MIN
    record.raise_to(Severity.TOLERATED, T0)
    return record


def test_the_transport_tolerance_text_states_the_profiles_tolerance() -> None:
    profiles = load_profiles()
    fr, en = texts(tolerated(profiles), "Zone A", profiles)
    assert fr.endswith(" — tolérance de transport (+3 °C, moins de 30 min)")
    assert en.endswith(" — within the transport tolerance (+3 °C, under 30 min)")


def test_another_tolerance_in_the_profiles_changes_the_text() -> None:
    profiles = load_profiles()
    frozen = profiles["quick_frozen"]
    assert frozen.transport_tolerance is not None
    other = dataclasses.replace(frozen.transport_tolerance, value_c=2.5, max_duration_min=20)
    profiles["quick_frozen"] = dataclasses.replace(frozen, transport_tolerance=other)
    fr, en = texts(tolerated(profiles), "Zone A", profiles)
    assert fr.endswith("(+2,5 °C, moins de 20 min)") and "+3" not in fr
    assert en.endswith("(+2.5 °C, under 20 min)")


def test_every_text_reads_in_dutch_with_the_same_figures() -> None:
    # The engine's words come from the `alerts` catalogue (server/locale/nl): Dutch for a
    # Dutch reader, from the very facts the French and English texts were made of.
    profiles = load_profiles()
    said = facts(tolerated(profiles), "Zone A", profiles)
    assert text(said, "nl") == (
        "Zone A: -16 °C boven de grenswaarde van -18 °C (diepvriesproducten, product (simulant))"
        " sinds 10 min — transporttolerantie (+3 °C, minder dan 30 min)"
    )
    door = Record(AlertKind.DOOR_OPEN, "p1", "door", T0, side=1)
    door.last_out_ms, door.closed = T0 + 7 * MIN, True
    assert (
        text(facts(door, "Koelcel 1", profiles), "nl") == "Koelcel 1: deur was 7 min open gebleven"
    )
    fault = Record(AlertKind.SENSOR_FAULT, "p1", "air", T0, side=1)
    fault.detail = "crc_error"
    fr, en = texts(fault, "Zone A", profiles)
    assert fr == "Zone A : défaut de la sonde p1 (air) : erreur de transmission"
    assert en == "Zone A: probe p1 (air) fault: transmission error"
    assert text(facts(fault, "Zone A", profiles), "nl") == (
        "Zone A: defect van sonde p1 (air): transmissiefout"
    )


def test_the_server_makes_the_same_text_from_the_stored_event() -> None:
    # server/alerting/texts.py makes a Dutch text from the event stored with the alert
    # (AlertEvent.to_dict): it must say what the engine would have said.
    profiles = load_profiles()
    record = tolerated(profiles)
    said = facts(record, "Zone A", profiles)
    assert record.limit is not None
    event = {
        "kind": "temperature_excursion",
        "status": "open",
        "severity": "tolerated",
        "location_name": "Zone A",
        "channel": "product",
        "duration_ms": record.duration_ms,
        "peak": record.peak,
        "limit": {
            "max_c": record.limit.max_c,
            "min_c": record.limit.min_c,
            "label_applied": False,
            "tolerance_c": record.limit.tolerance_c,
            "tolerance_max_min": record.limit.tolerance_min,
        },
    }
    stored = facts_of_event(event, said.category)
    for lang in ("fr", "nl", "en"):
        assert text(stored, lang) == text(said, lang)
