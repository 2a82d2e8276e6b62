"""A sealed record as JSON (the exact sealed bytes, to re-hash) and as CSV (its readings)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from server.core.models.records import SealedRecord
from server.records.timefmt import local

CSV_HEADER = [
    "zone",
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


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def readings_csv(doc: dict[str, Any]) -> Iterator[str]:
    """One line per reading of every zone (UTF-8 with BOM and ';' so a spreadsheet opens it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for zone in doc["zones"]:
        for time_ms, probe, channel, raw, value, calibration, fault, synced in zone["readings"]:
            writer.writerow(
                [
                    zone["name"],
                    local(time_ms, "%Y-%m-%d %H:%M:%S"),
                    time_ms,
                    probe,
                    channel,
                    _number(raw),
                    _number(value),
                    "" if calibration is None else calibration,
                    fault or "",
                    "oui" if synced else "non",
                ]
            )
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
