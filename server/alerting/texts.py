"""An alert's text in the language a person reads, from the `alerts` catalogue
(server/locale/<lang>/LC_MESSAGES/alerts.po).

The engine stores French and English with the alert (text_fr, text_en: the sealed records
and the webhooks carry them); any other language (Dutch) is made here from the stored event
by the engine's own function (alerts/texts.py), so both say the same thing.
"""

from __future__ import annotations

from datetime import date

from alerts import texts as engine_texts
from server.core import catalogue
from server.core.models.alerts import Alert
from server.domain import categories

DOMAIN = "alerts"
CALIBRATION_OVERDUE = "calibration_overdue"  # server/alerting/maintenance.py's kind


def words(lang: str, context: str | None = None) -> dict[str, str]:
    return dict(catalogue.words(DOMAIN, lang, context))


def calibration_text(probe_id: str, channel: str, due: date | None, lang: str) -> str:
    """A probe verification overdue (server/alerting/maintenance.py)."""
    said = words(lang)
    if due is None:
        return said["calibration_none"].format(probe=probe_id)
    day = due.isoformat() if lang == "en" else due.strftime("%d/%m/%Y")
    return said["calibration_late"].format(probe=probe_id, channel=channel, day=day)


def alert_text(alert: Alert, lang: str) -> str:
    """The alert's text in `lang`: the stored one for French and English, made from the
    stored event for another language."""
    if lang == "en":
        return alert.text_en
    if lang not in catalogue.LANGUAGES[1:]:
        return alert.text_fr
    record = alert.record or {}
    if alert.kind == CALIBRATION_OVERDUE:
        due = record.get("next_due")
        return calibration_text(
            alert.probe_id, alert.channel, date.fromisoformat(due) if due else None, lang
        )
    if "duration_ms" not in record:  # not an engine event: nothing to make it from
        return alert.text_fr
    code = str((record.get("limit") or {}).get("category") or "")
    known = code in categories.profiles()
    names = {each: categories.name(code, each) for each in catalogue.LANGUAGES} if known else {}
    return engine_texts.text(engine_texts.facts_of_event(record, names), lang)
