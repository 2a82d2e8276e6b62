"""The calibration register and the HACCP plan page of the inspection export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from alerts.profiles import Basis, ProductProfile
from server.core.models import Calibration, Probe
from server.domain.calibration import FAIL_MEANING_FR, RESULT_FR, Result, is_overdue
from server.records.formats import spreadsheet_csv
from server.records.pdfkit import H2, SMALL, TITLE, build, para, table
from server.records.timefmt import celsius, local

BASIS_FR = {
    Basis.LAW: "loi",
    Basis.REFERENCE: "référence (non contraignante)",
    Basis.OURS: "notre choix",
}
CALIBRATION_HEADER = [
    "sonde",
    "canal",
    "date_verification",
    "instrument_reference",
    "certificat_reference",
    "releve_reference_c",
    "releve_sonde_c",
    "ecart_applique_c",
    "resultat",
    "realise_par",
    "prochaine_verification",
    "etat",
]
# The PDF page has room for fewer columns: these, in this order (certificate and readings
# are folded into the instrument and result cells).
PDF_COLUMNS = (
    "Sonde",
    "Canal",
    "Vérifiée le",
    "Instrument (certificat)",
    "Écart",
    "Référence / sonde → résultat",
    "Par",
    "Prochaine",
    "État",
)


def calibration_rows(
    calibrations: Iterable[tuple[Calibration, Probe]], today: date
) -> list[list[str]]:
    """One row per verification, oldest first per probe channel; the newest of each channel
    says whether the next verification is overdue."""
    rows: list[list[str]] = []
    ordered = sorted(
        calibrations, key=lambda cp: (cp[1].probe_id, cp[0].channel, cp[0].calibrated_at)
    )
    for index, (calibration, probe) in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        newest = following is None or (following[1].id, following[0].channel) != (
            probe.id,
            calibration.channel,
        )
        if not newest:
            state = "remplacée par une vérification plus récente"
        elif calibration.next_due is None:
            state = "pas d'échéance enregistrée"
        elif is_overdue(calibration.next_due, today):
            state = f"EN RETARD depuis le {calibration.next_due.strftime('%d/%m/%Y')}"
        else:
            state = "à jour"
        if calibration.result == Result.FAIL and newest:
            state = f"{state} — {FAIL_MEANING_FR}"
        rows.append(
            [
                probe.probe_id,
                calibration.channel,
                local(calibration.calibrated_at),
                calibration.reference_instrument,
                calibration.reference_certificate or "—",
                _reading(calibration.reference_reading_c),
                _reading(calibration.probe_reading_c),
                f"{calibration.offset:+.2f}",
                RESULT_FR.get(Result(calibration.result), "—") if calibration.result else "—",
                calibration.performed_by,
                calibration.next_due.strftime("%d/%m/%Y") if calibration.next_due else "—",
                state,
            ]
        )
    return rows


def _reading(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def overdue(rows: list[list[str]]) -> list[list[str]]:
    return [row for row in rows if row[-1].startswith("EN RETARD")]


def _pdf_row(row: list[str]) -> list[str]:
    (
        probe,
        channel,
        checked,
        instrument,
        certificate,
        ref,
        read,
        offset,
        result,
        who,
        due,
        state,
    ) = row
    return [
        probe,
        channel,
        checked,
        instrument if certificate == "—" else f"{instrument} ({certificate})",
        offset,
        f"{ref} / {read} → {result}",
        who,
        due,
        state,
    ]


def calibration_csv(rows: list[list[str]]) -> bytes:
    return spreadsheet_csv(CALIBRATION_HEADER, rows)


def haccp_plan_pdf(
    profiles: Mapping[str, ProductProfile],
    categories: Iterable[str],
    calibrations: list[list[str]],
    period: str,
    out: BinaryIO,
) -> None:
    """Every limit used in the export, with its legal source or « notre choix », and the
    calibration register."""
    story: list[Flowable] = [
        para("Plan HACCP — limites appliquées", TITLE),
        para(f"Période : {period}"),
    ]
    rows = []
    for code in sorted(set(categories)):
        profile = profiles.get(code)
        if profile is None:
            rows.append((code, "catégorie inconnue du fichier de profils", "", "", ""))
            continue
        limits = []
        if profile.max is not None:
            limits.append(f"max {celsius(profile.max.value)} ({BASIS_FR[profile.max.basis]})")
        if profile.min is not None:
            limits.append(f"min {celsius(profile.min.value)} ({BASIS_FR[profile.min.basis]})")
        tolerance = profile.transport_tolerance
        if tolerance is not None:
            limits.append(
                f"tolérance transport +{tolerance.value_c:g} °C ({BASIS_FR[tolerance.basis]}), "
                f"{tolerance.max_duration_min:g} min au plus ({BASIS_FR[tolerance.duration_basis]})"
            )
        source = profile.source
        cited = "notre choix" if source.confidence == "ours" else source.cite()
        c = profile.choices
        ours = (
            "avertissement dès la première mesure au-delà de la limite ; "
            f"critique après {c.critical_delay_min:g} min ou à +{c.hard_margin_c:g} °C ; "
            f"« proche de la limite » affiché à {c.warning_margin_c:g} °C d'elle, sans alerte "
            "(notre choix)"
        )
        rows.append(
            (
                profile.name_fr,
                "; ".join(limits) or "non contrôlée",
                cited,
                f"{source.confidence} {source.note}".strip(),
                ours,
            )
        )
    widths = [32 * mm, 40 * mm, 45 * mm, 30 * mm, 33 * mm]
    story.append(
        table(
            ["Catégorie", "Limites", "Source légale", "Fiabilité / note", "Seuils d'alerte"],
            rows,
            widths,
        )
    )
    story.append(
        para(
            "Une température d'étiquette plus basse que la limite légale prime "
            "(guide AFSCA G-007). Fiabilité : Q = texte lu, S = source secondaire, "
            "U = non confirmé, ours = notre choix.",
            SMALL,
        )
    )
    story.append(para("Registre des étalonnages", H2))
    story.append(
        table(
            list(PDF_COLUMNS),
            [_pdf_row(row) for row in calibrations] or [["—"] * len(PDF_COLUMNS)],
            [16 * mm, 12 * mm, 22 * mm, 28 * mm, 12 * mm, 26 * mm, 20 * mm, 17 * mm, 27 * mm],
        )
    )
    build(out, story, "Plan HACCP", f"Plan HACCP — {period}")


def limits_of_records(documents: Iterable[Mapping[str, Any]]) -> set[str]:
    return {load["category"] for doc in documents for load in doc["loads"]}
