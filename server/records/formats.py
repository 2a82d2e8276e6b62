"""A sealed record as JSON (the exact sealed bytes, to re-hash) and as CSV (its readings);
the CSV every export writes (records, inspection locations, registers): what a spreadsheet
opens as it is, and one reading's columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from server.core.models.records import SealedRecord
from server.records.timefmt import local
from server.records.vocabulary import value, yes_no

if TYPE_CHECKING:
    from _csv import Writer

READING_COLUMNS = [
    "heure_bruxelles",
    "heure_utc_ms",
    "sonde",
    "canal",
    "valeur_brute_c",
    "valeur_etalonnee_c",
    "etalonnage_id",
    "defaut",
    "horloge_synchronisee",
]
CSV_HEADER = ["zone", *READING_COLUMNS]


def spreadsheet_writer(buffer: io.StringIO) -> Writer:
    """A CSV writer into `buffer` that a French spreadsheet opens as it is: UTF-8 with a
    BOM (written here, first), ';' between fields, CRLF line ends."""
    buffer.write("\ufeff")
    return csv.writer(buffer, delimiter=";", lineterminator="\r\n")


def spreadsheet_row(values: Sequence[Any]) -> bytes:
    """One more line of a file `spreadsheet_writer` began (no BOM: it is not the first)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode()


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole (small) CSV file, as `spreadsheet_writer` writes it."""
    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def record_json(record: SealedRecord) -> str:
    """The seal and the document as sealed (a string: hash it as it is, see docs/records.md)."""
    return json.dumps(
        {
            "record_id": record.id,
            "cooperative_id": record.cooperative_id,
            "sequence": record.sequence,
            "delivery_id": record.delivery_id,
            "version": record.version,
            "previous_hash": record.previous_hash,
            "record_hash": record.record_hash,
            "hash_rule": "sha256(previous_hash + '\\n' + document)",
            "document": record.document,
        },
        ensure_ascii=False,
        indent=1,
    )


def decimal(value: float | None, digits: int) -> str:
    """A number for a French spreadsheet: a decimal comma, no thousands separator
    (« 4,250 »; a point would be read as a thousands separator, « 4.250 » as 4250); "" for
    none."""
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def reading_row(
    time_ms: int,
    probe: str,
    channel: str,
    raw: float | None,
    calibrated: float | None,
    calibration: int | None,
    fault: str | None,
    synced: bool,
) -> list[Any]:
    """One calibrated reading under READING_COLUMNS, from its values as a sealed document
    keeps them (server/records/document.py `sealed_reading`): the channel and the fault by
    their French names."""
    return [
        local(time_ms, "%Y-%m-%d %H:%M:%S"),
        time_ms,
        probe,
        value(channel),
        decimal(raw, 3),
        decimal(calibrated, 3),
        "" if calibration is None else calibration,
        value(fault),
        yes_no(synced),
    ]


def readings_csv(doc: dict[str, Any]) -> Iterator[str]:
    """One line per reading of every zone."""
    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    writer.writerow(CSV_HEADER)
    for zone in doc["zones"]:
        for reading in zone["readings"]:
            writer.writerow([zone["name"], *reading_row(*reading)])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
