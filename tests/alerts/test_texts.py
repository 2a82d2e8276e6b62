"""Alert texts (alerts/texts.py) take their figures from the limit in force, whose one home
is alerts/profiles.toml: no figure of the policy is written in a text."""

from __future__ import annotations

import dataclasses

from alerts.findings import AlertKind, Record, Severity
from alerts.limits import limit_for_category
from alerts.profiles import ProductProfile, load_profiles
from alerts.texts import texts
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
