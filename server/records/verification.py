"""Public verification of a sealed delivery record, for the shop that received the goods:
the short code printed (with a QR code) on each sealed record's PDF, and what the public
page (server/pages/verification_pages.py) may say about the record behind it.

The code is the record hash's first 80 bits in base32 (16 characters, RFC 4648 alphabet:
A–Z, 2–7), so it cannot be guessed and it names one record; the page finds the record by
the hash prefix it encodes. What the public sees is only: whether the record is intact
(its stored document still hashes to its hash: server/records/verify.py), whether a newer
version of the delivery exists, the cooperative, the delivery day, the version, when it was
sealed, and per lot its reference, category and verdict (server/records/verdict.py). No
names of people, no customers, no temperatures: a shop holding the PDF already has more.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core import catalogue
from server.core.models.records import SealedRecord
from server.records import config
from server.records.pdfkit import SMALL, para
from server.records.verify import record_problem

CODE_LENGTH: Final = 16  # base32 characters: 80 bits of the SHA-256
PAGE: Final = "/verification"  # the form where the code can be typed
SHORT_PATH: Final = "/v/"  # + the code: what the QR code opens
# Characters people type for the ones base32 leaves out (0 and 1 are not in its alphabet).
LOOK_ALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})

INTACT, SUPERSEDED, ALTERED = "intact", "superseded", "altered"


def short_code(record_hash: str) -> str:
    """The record's public code: the first 80 bits of its hash, in base32."""
    return base64.b32encode(bytes.fromhex(record_hash)).decode("ascii")[:CODE_LENGTH]


def grouped(code: str) -> str:
    """« ABCD-EFGH-IJKL-MNOP »: as printed, easier to read out and to type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(typed: str) -> str | None:
    """The code as typed (any case, dashes, spaces, 0 for O...) -> the code, or None when
    it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper().translate(LOOK_ALIKES)
    if len(code) != CODE_LENGTH:
        return None
    try:
        base64.b32decode(code)
    except (binascii.Error, ValueError):
        return None
    return code


def hash_prefix(code: str) -> str:
    """The hexadecimal start of the hash a (normalised) code stands for."""
    return base64.b32decode(code).hex()


def address(record_hash: str) -> str:
    """What the QR code opens: the public page of this record."""
    return f"{config.current().public_url}{SHORT_PATH}{short_code(record_hash)}"


@dataclass(frozen=True)
class LotVerdict:
    reference: str
    category: str  # the category's code (alerts/profiles.toml)
    category_fr: str  # its French name as sealed
    verdict: str  # server/records/verdict.py: conforme, ecart_tolere, non_conforme


@dataclass(frozen=True)
class Checked:
    """What the public page says about a code that names a record."""

    state: str  # INTACT, SUPERSEDED or ALTERED
    code: str
    record_hash: str
    # Below: from the sealed document, only when it is intact (else nothing is trusted).
    cooperative: str = ""
    delivery_day: date | None = None
    version: int | None = None
    sealed_at: datetime | None = None
    lots: tuple[LotVerdict, ...] = ()
    newer_version: int | None = None  # SUPERSEDED: the newest version...
    newer_sealed_at: datetime | None = None
    newer_code: str | None = None  # ...and its own public code


def check(session: Session, code: str) -> Checked | None:
    """The record a normalised code names, as the public may see it; None when no record
    (or, against all odds, more than one) has a hash starting with the code's bits."""
    found = session.scalars(
        select(SealedRecord)
        .where(SealedRecord.record_hash.startswith(hash_prefix(code), autoescape=True))
        .limit(2)
    ).all()
    if len(found) != 1:
        return None
    record = found[0]
    if record_problem(record) is not None:
        return Checked(ALTERED, code, record.record_hash)
    doc = json.loads(record.document)
    newest = session.scalar(
        select(SealedRecord)
        .where(SealedRecord.delivery_id == record.delivery_id)
        .order_by(SealedRecord.version.desc())
        .limit(1)
    )
    newer = newest if newest is not None and newest.version > record.version else None
    return Checked(
        SUPERSEDED if newer is not None else INTACT,
        code,
        record.record_hash,
        cooperative=doc["cooperative"]["name"],
        delivery_day=date.fromisoformat(doc["delivery"]["day"]),
        version=record.version,
        sealed_at=record.sealed_at,
        lots=tuple(
            LotVerdict(
                load["lot_reference"],
                load["category"],
                load.get("category_fr") or load["category"],
                load["verdict"]["code"],
            )
            for load in doc["loads"]
        ),
        newer_version=newer.version if newer else None,
        newer_sealed_at=newer.sealed_at if newer else None,
        newer_code=short_code(newer.record_hash) if newer else None,
    )


def qr_drawing(record_hash: str, size: float = 26 * mm) -> Drawing:
    """The QR code of the record's public page, `size` wide."""
    widget = QrCodeWidget(address(record_hash), barLevel="M")
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(widget)
    return drawing


def qr_block(record_hash: str, lang: str = "fr") -> list[Flowable]:
    """The QR code and the short code with how to use them, for a sealed record's PDF (its
    « Scellement et vérification » part), in the document's language."""
    words = catalogue.words("records", lang)
    text = words["verification_pdf"].format(
        url=address(record_hash),
        code=grouped(short_code(record_hash)),
        page=f"{config.current().public_url}{PAGE}",
    )
    block = Table([[qr_drawing(record_hash), para(text, SMALL)]], colWidths=[30 * mm, 150 * mm])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return [block]
