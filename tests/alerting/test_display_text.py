"""The probe display (server/alerting/outbox.py `short_text`): 64 characters, 4 lines of 16
(coldchain.protocol.MAX_ALARM_TEXT_CHARS), for every alert the policy displays, in every
language of the catalogues, whatever the place's name: a name too long is shortened, never
the figures; the probe accepts the text."""

from __future__ import annotations

import pytest

from coldchain.protocol import MAX_ALARM_TEXT_CHARS, AlarmCommand, encode_alarm, parse_alarm
from server.alerting.outbox import POLICY, short_text
from server.core import catalogue
from server.core.models.alerts import Alert

DISPLAYED = sorted({kind for (kind, _), telling in POLICY.items() if telling.display})
NAMES = [
    "Camionnette 2 — frais",
    "Chambre froide",
    "Camionnette de la coopérative du Val — " + "zone froide des produits laitiers " * 3,  # 100
    "Chambre froide de la Ferme du Pont-à-Celles, cave d'affinage " * 4,  # 200, no « — »
    "Chambre\tfroide\nà\x00fromages",
]


def alert(kind: str, name: str, peak: float | None = None, max_c: float | None = None) -> Alert:
    limit = None if max_c is None else {"max_c": max_c}
    return Alert(kind=kind, peak=peak, record={"location_name": name, "limit": limit})


def fits(text: str) -> None:
    assert len(text) <= MAX_ALARM_TEXT_CHARS, text
    assert parse_alarm(encode_alarm(AlarmCommand(True, text, "a-1", True))) == AlarmCommand(
        True, text, "a-1", True
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", DISPLAYED)
def test_every_displayed_alert_fits_the_display(kind: str, name: str) -> None:
    text = short_text(alert(kind, name))
    fits(text)
    assert text.split()[0] == short_text(alert(kind, "x")).split()[0]  # the kind comes first


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("peak", "max_c", "figures"),
    [
        (9.1, 7.0, " 9,1°C>7°C"),
        (-12.34, -18.0, " -12,3°C>-18°C"),
        (1.0, 2.0, " 1,0°C"),
        (2.04, 2.0, " 2,04°C>2°C"),  # not « 2,0°C>2°C »: the reason for the alarm stays visible
    ],
)
def test_a_long_name_is_shortened_never_the_figures(
    name: str, peak: float, max_c: float, figures: str
) -> None:
    text = short_text(alert("temperature_excursion", name, peak, max_c))
    fits(text)
    assert text.startswith("ALERTE ") and text.endswith(figures)


def test_a_short_name_is_shown_whole() -> None:
    assert short_text(alert("temperature_excursion", "Camionnette 2 — frais", 9.1, 7.0)) == (
        "ALERTE frais 9,1°C>7°C"
    )
    assert short_text(alert("door_open", "Chambre froide")) == "PORTE OUVERTE Chambre froide"


# The widest figures a reading can give (the protocol's range, one decimal) against a limit.
WORST = [(-199.9, -18.0), (199.9, 7.0), (-10.05, -18.5)]


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
@pytest.mark.parametrize("kind", DISPLAYED)
def test_every_language_fits_the_display_with_the_widest_figures(lang: str, kind: str) -> None:
    head = catalogue.words("alerts", lang, "display")[kind]
    for name in NAMES:
        for peak, max_c in WORST:
            text = short_text(alert(kind, name, peak, max_c), lang)
            fits(text)
            assert text.startswith(head + " "), (lang, text)
            if kind == "temperature_excursion":
                figures = f" {peak:.1f}°C" + (f">{max_c:g}°C" if peak > max_c else "")
                comma = figures if lang == "en" else figures.replace(".", ",")
                assert text.endswith(comma), (lang, text)
                # the head and the figures leave room for at least a few letters of the place
                assert len(head) + len(comma) + 1 <= MAX_ALARM_TEXT_CHARS - 8


def test_the_display_speaks_dutch() -> None:
    assert short_text(alert("door_open", "Koelcel"), "nl") == "DEUR OPEN Koelcel"
    assert short_text(alert("temperature_excursion", "Bestelwagen 2 — koel", 9.1, 7.0), "nl") == (
        "ALARM koel 9,1°C>7°C"
    )
