"""The alert e-mails in the reader's language (server/alerting/outbox.py): a user who chose
Dutch gets Dutch, one who chose none the site's `alerting.language`; the alert's text is made
from the stored engine event (server/alerting/texts.py), the English text stays below."""

from __future__ import annotations

from datetime import UTC, date, datetime

from coldchain.settings import AlertingSettings
from server.alerting import outbox
from server.alerting.texts import alert_text, calibration_text
from server.core.models import User
from server.core.models.alerts import Alert, Notification
from tests.support.dutch import DUTCH_TEXT, EVENT

START = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


def stored_alert() -> Alert:
    return Alert(
        id=7,
        kind="temperature_excursion",
        severity="critical",
        location_key="zone:1",
        probe_id="van-a-1",
        channel="air",
        start_at=START,
        detected_at=START,
        detected_late=False,
        text_fr="Zone frais : 6,5 °C au-dessus de la limite de 4 °C (viande hachée, air)",
        text_en="Zone frais: 6.5 °C above the 4 °C limit (minced meat, air) for 10 min",
        record=EVENT,
    )


class Outbox:
    """What outbox.email_people adds to the session (no database needed to word them)."""

    def __init__(self) -> None:
        self.added: list[Notification] = []

    def add(self, row: Notification) -> None:
        self.added.append(row)


def test_each_user_is_written_to_in_their_language() -> None:
    settings = AlertingSettings(smtp_host="127.0.0.1", language="fr")
    people = [
        User(email="an@example.be", language="nl"),
        User(email="marie@example.be", language=None),
        User(email="sam@example.be", language="en"),
    ]
    session = Outbox()
    outbox.email_people(session, stored_alert(), people, "opened", settings)  # type: ignore[arg-type]
    mails = {n.target: n.payload for n in session.added}
    dutch = mails["an@example.be"]
    assert dutch["language"] == "nl"
    assert dutch["subject"] == "[Coldchain] Nieuw alarm (kritiek) — Zone frais"
    assert (
        DUTCH_TEXT in dutch["body"] and "Begin: 10/03/2026 08:00 (Brusselse tijd)" in dutch["body"]
    )
    assert "registreer daarna de corrigerende maatregel" in dutch["body"]
    assert dutch["body"].endswith("-- English --\n" + stored_alert().text_en)
    french = mails["marie@example.be"]
    assert french["subject"] == "[Coldchain] Nouvelle alerte (critique) — Zone frais"
    assert "Début : 10/03/2026 08:00 (heure de Bruxelles)" in french["body"]
    english = mails["sam@example.be"]
    assert english["subject"] == "[Coldchain] New alert (critical) — Zone frais"
    assert "-- English --" not in english["body"]


def test_a_calibration_alert_reads_in_dutch() -> None:
    late = Alert(
        kind="calibration_overdue", probe_id="cr1", channel="air", text_fr="x", text_en="y"
    )
    late.record = {"kind": "calibration_overdue", "next_due": "2026-02-01"}
    assert alert_text(late, "nl") == "Sonde cr1 (air): kalibratiecontrole te laat sinds 01/02/2026"
    assert calibration_text("cr1", "air", date(2026, 2, 1), "fr") == (
        "Sonde cr1 (air) : vérification d'étalonnage en retard depuis le 01/02/2026"
    )
