"""Alert texts for people: French first, English available. Times in the site's zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from alerts.findings import IMPOSSIBLE_JUMP, STUCK_VALUE, AlertKind, Record, Severity
from alerts.profiles import ProductProfile
from coldchain import clock

MEDIUM_FR = {"air": "air", "product": "produit (simulant)"}
MEDIUM_EN = {"air": "air", "product": "product (simulant)"}
FAULTS_FR = {
    "power_on_value": "valeur de démarrage (85 °C)",
    "disconnected": "sonde déconnectée",
    "crc_error": "erreur de transmission",
    "i2c_nack": "capteur muet",
    "out_of_range": "valeur hors plage",
    "not_ready": "mesure inachevée",
    "no_value": "pas de valeur",
    STUCK_VALUE: "valeur figée",
    IMPOSSIBLE_JUMP: "saut impossible",
}
REASONS_FR = {"defrost": "dégivrage", "loading": "chargement"}


def _num_en(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _num_fr(value: float) -> str:
    return _num_en(value).replace(".", ",").replace("-", "−")


def _minutes(ms: int) -> int:
    return max(0, round(ms / 60_000))


def local_time(t_ms: int) -> str:
    return dt.datetime.fromtimestamp(t_ms / 1000, clock.zone()).strftime("%d/%m %H:%M")


def _category(record: Record, profiles: Mapping[str, ProductProfile]) -> tuple[str, str]:
    limit = record.limit
    code = None if limit is None else limit.max_category if record.side > 0 else limit.min_category
    profile = profiles.get(code or "")
    if profile is None:
        return "", ""
    return profile.name_fr.lower(), profile.name_en.lower()


def texts(record: Record, place: str, profiles: Mapping[str, ProductProfile]) -> tuple[str, str]:
    """(French, English) one-line text for the alert's current state."""
    minutes = _minutes(record.duration_ms)
    if record.kind is AlertKind.TEMPERATURE:
        return _temperature(record, place, profiles, minutes)
    if record.kind is AlertKind.DOOR_OPEN:
        state_fr = "était restée" if record.closed else "est"
        return (
            f"{place} : porte {state_fr} ouverte {minutes} min",
            f"{place}: door open for {minutes} min",
        )
    if record.kind is AlertKind.SENSOR_FAULT:
        fr = FAULTS_FR.get(record.detail, record.detail)
        return (
            f"{place} : défaut de la sonde {record.probe_id} ({record.channel}) : {fr}",
            f"{place}: probe {record.probe_id} ({record.channel}) fault: {record.detail}",
        )
    if record.kind is AlertKind.PROBE_OFFLINE:
        since = local_time(record.start_ms)
        return (
            f"{place} : la sonde {record.probe_id} n'envoie plus rien depuis {since}",
            f"{place}: probe {record.probe_id} silent since {since}",
        )
    reason, _, mode = record.detail.partition("|")
    verb_fr = "suspendue" if mode == "suspend" else "assouplie"
    verb_en = "suspended" if mode == "suspend" else "relaxed"
    window = f"{local_time(record.start_ms)}"
    return (
        f"{place} : évaluation {verb_fr} ({REASONS_FR.get(reason, reason)}) depuis {window}",
        f"{place}: evaluation {verb_en} ({reason}) since {window}",
    )


def _temperature(
    record: Record, place: str, profiles: Mapping[str, ProductProfile], minutes: int
) -> tuple[str, str]:
    limit = record.limit
    bound = None if limit is None else limit.max_c if record.side > 0 else limit.min_c
    peak = record.peak if record.peak is not None else 0.0
    cat_fr, cat_en = _category(record, profiles)
    medium_fr = MEDIUM_FR.get(record.channel, record.channel)
    medium_en = MEDIUM_EN.get(record.channel, record.channel)
    where_fr = "au-dessus" if record.side > 0 else "en dessous"
    where_en = "above" if record.side > 0 else "below"
    bound_fr = "?" if bound is None else _num_fr(bound)
    bound_en = "?" if bound is None else _num_en(bound)
    label = " (étiquette)" if limit is not None and limit.label_applied else ""
    tail_fr = f"({cat_fr}{label}, {medium_fr})" if cat_fr else f"({medium_fr})"
    tail_en = f"({cat_en}, {medium_en})" if cat_en else f"({medium_en})"
    when_fr = f"pendant {minutes} min" if record.closed else f"depuis {minutes} min"
    when_en = f"for {minutes} min"
    fr = (
        f"{place} : {_num_fr(peak)} °C {where_fr} de la limite de {bound_fr} °C {tail_fr} {when_fr}"
    )
    en = f"{place}: {_num_en(peak)} °C {where_en} the {bound_en} °C limit {tail_en} {when_en}"
    if record.severity is Severity.TOLERATED:
        # The tolerance of the limit in force (alerts/profiles.toml), never a figure of ours.
        tolerance = None if limit is None else limit.tolerance_c
        most = None if limit is None else limit.tolerance_min
        plus_fr = "" if tolerance is None else f"+{_num_fr(tolerance)} °C"
        plus_en = "" if tolerance is None else f"+{_num_en(tolerance)} °C"
        within_fr = "brièvement" if most is None else f"moins de {_num_fr(most)} min"
        within_en = "briefly" if most is None else f"under {_num_en(most)} min"
        fr += f" — tolérance de transport ({plus_fr + ', ' if plus_fr else ''}{within_fr})"
        en += f" — within the transport tolerance ({plus_en + ', ' if plus_en else ''}{within_en})"
    return fr, en
