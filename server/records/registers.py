"""The calibration register of the inspection export (CSV, and the table the HACCP plan
prints: server/records/haccp_plan.py); the categories of the sealed records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from server.core.calibration import Result, is_overdue
from server.core.models import Calibration, Probe
from server.records.formats import decimal, spreadsheet_csv
from server.records.timefmt import local
from server.records.vocabulary import value, words

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
# The PDF table's column names: messages of the `records` catalogue.
PDF_COLUMNS = (
    "register_col_probe",
    "register_col_channel",
    "register_col_verified",
    "register_col_instrument",
    "register_col_offset",
    "register_col_readings",
    "register_col_by",
    "register_col_next",
    "register_col_state",
)


def calibration_rows(
    calibrations: Iterable[tuple[Calibration, Probe]], today: date, lang: str = "fr"
) -> list[list[str]]:
    """One row per verification, oldest first per probe channel; the newest of each channel
    says whether the next verification is overdue. In `lang` (channel by its name)."""
    said = words(lang)
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
            state = said["register_superseded"]
        elif calibration.next_due is None:
            state = said["register_no_due"]
        elif is_overdue(calibration.next_due, today):
            state = said["register_overdue"].format(day=calibration.next_due.strftime("%d/%m/%Y"))
        else:
            state = said["register_up_to_date"]
        if calibration.result == Result.FAIL and newest:
            state = f"{state} — {said['register_fail_meaning']}"
        rows.append(
            [
                probe.probe_id,
                value(calibration.channel, lang),
                local(calibration.calibrated_at),
                calibration.reference_instrument,
                calibration.reference_certificate or "—",
                _reading(calibration.reference_reading_c),
                _reading(calibration.probe_reading_c),
                f"{calibration.offset:+.2f}".replace(".", ","),
                value(calibration.result, lang) or "—",
                calibration.performed_by,
                calibration.next_due.strftime("%d/%m/%Y") if calibration.next_due else "—",
                state,
            ]
        )
    return rows


def _reading(value: float | None) -> str:
    return decimal(value, 2) or "—"


def overdue(rows: list[list[str]]) -> list[list[str]]:
    flag = words()["register_overdue"].split("{", 1)[0]  # « EN RETARD depuis le »
    return [row for row in rows if row[-1].startswith(flag)]


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


def calibration_csv(rows: list[list[str]], lang: str = "fr") -> bytes:
    """The register as CSV; without a verification, one line saying so."""
    return spreadsheet_csv(CALIBRATION_HEADER, rows or [[words(lang)["no_calibration"]]])


def pdf_rows(rows: list[list[str]]) -> list[list[str]]:
    """The register's rows as its PDF table prints them (PDF_COLUMNS): in the HACCP plan
    (server/records/haccp_plan.py)."""
    return [_pdf_row(row) for row in rows]


def limits_of_records(documents: Iterable[Mapping[str, Any]]) -> set[str]:
    return {load["category"] for doc in documents for load in doc["loads"]}
