"""The public check of a sealed record (server/records/verification.py): the short code
(unguessable, typed loosely), what a code finds (intact, superseded, altered, nothing), and
the QR code that each sealed delivery PDF carries, pointing at the public page.

No QR decoder is installed in this project's environment (no zbar, zxing or OpenCV): the
QR code is checked by the value its reportlab widget encodes, found in the drawing that the
PDF's seal section holds; a decoder, when one is importable, reads the drawing too."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.platypus import Table
from sqlalchemy import update

from coldchain.settings import AlertingSettings, ServerSettings, Settings
from server.core.models.records import SealedRecord
from server.records import config, record_pdf, verification
from server.records.pdfkit import build
from tests.records.support import END, prepare, run, sealed_delivery, write_readings
from tests.server.world import D1

BACKLOG_FROM = END - timedelta(minutes=60)

PUBLIC = "https://froid.example.be"


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's public address set as `server.public_url` for this test (the process's
    documents settings: server/records/config.py; put back after)."""
    monkeypatch.setattr(config, "_current", config.current())
    config.configure(Settings(server=ServerSettings(public_url=PUBLIC + "/")))
    yield PUBLIC


def _record(app: Any, record_id: int) -> SealedRecord:
    with app.state.sessionmaker() as session:
        record: SealedRecord | None = session.get(SealedRecord, record_id)
        assert record is not None
        session.expunge(record)
        return record


def test_the_short_code_is_80_bits_of_the_hash_and_is_typed_loosely() -> None:
    record_hash = "9f" * 32
    code = verification.short_code(record_hash)
    assert len(code) == verification.CODE_LENGTH == 16
    assert re.fullmatch(r"[A-Z2-7]{16}", code)
    assert record_hash.startswith(verification.hash_prefix(code))
    assert len(verification.hash_prefix(code)) * 4 == 80  # bits: not guessable
    printed = verification.grouped(code)
    assert re.fullmatch(r"([A-Z2-7]{4}-){3}[A-Z2-7]{4}", printed)
    for typed in (printed, printed.lower(), f"  {printed.replace('-', ' ')} ", code):
        assert verification.normalise(typed) == code
    assert verification.normalise("T0T1" * 4) == "TOTI" * 4  # 0 and 1 are read as O and I
    for wrong in ("", "ABC", code + "A", "9" * 16, "ABCD-EFGH-IJKL-MNO!", "é" * 16):
        assert verification.normalise(wrong) is None


def test_the_public_url_setting_falls_back_to_the_alerting_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config, "_current", config.current())
    config.configure(Settings(alerting=AlertingSettings(public_url="https://alertes.example.be/")))
    assert config.current().public_url == "https://alertes.example.be"
    config.configure(Settings(server=ServerSettings(public_url="https://froid.example.be")))
    assert verification.address("ab" * 32).startswith("https://froid.example.be/v/")
    with pytest.raises(ValueError, match="public_url"):
        ServerSettings(public_url="froid.example.be")  # a full http(s) address, nothing else


def _seal(world: Any, status: int = 201) -> Any:
    return world["hygiene_a"].ok(
        "POST", f"/api/v1/records/deliveries/{world.ids['DA']}/seal", status=status
    )


def test_a_code_finds_its_record_intact_superseded_or_altered(world, app, reading_store) -> None:
    # Version 1 sealed without the probes' last hour (tests/records/test_chain.py's way).
    prepare(world)
    write_readings(reading_store, end=BACKLOG_FROM)
    run(world)  # closing seals version 1
    first = _seal(world, status=200)
    code = verification.short_code(first["record_hash"])
    with app.state.sessionmaker() as session:
        checked = verification.check(session, code)
    assert checked is not None and checked.state == verification.INTACT
    assert checked.version == 1 and checked.delivery_day == D1
    assert checked.record_hash == first["record_hash"]
    assert {(lot.reference, lot.verdict) for lot in checked.lots} == {
        ("LOT-L1", "ecart_tolere"),
        ("LOT-L2", "ecart_tolere"),
        ("LOT-HACHE", "non_conforme"),
        ("LOT-GLACE", "conforme"),
    }
    # The backlog arrives: version 2 supersedes version 1, which says so and names it.
    write_readings(reading_store, start=BACKLOG_FROM, end=END, seq0=10_000)
    second = _seal(world)
    with app.state.sessionmaker() as session:
        old = verification.check(session, code)
        new = verification.check(session, verification.short_code(second["record_hash"]))
    assert old is not None and old.state == verification.SUPERSEDED
    assert old.newer_version == 2 and old.newer_code == verification.short_code(
        second["record_hash"]
    )
    assert new is not None and new.state == verification.INTACT and new.version == 2
    # One character of the stored document changed: altered, and nothing of it is shown.
    record = _record(app, second["id"])
    tampered = record.document.replace('"LOT-GLACE"', '"LOT-GLACF"', 1)
    assert tampered != record.document
    with app.state.sessionmaker() as session:  # straight SQL, as someone with database access
        session.execute(
            update(SealedRecord).where(SealedRecord.id == record.id).values(document=tampered)
        )
        session.commit()
    with app.state.sessionmaker() as session:
        altered = verification.check(session, verification.short_code(second["record_hash"]))
        # No record starts with these bits (the first code's last character changed).
        other = code[:-1] + ("A" if code[-1] != "A" else "B")
        assert verification.check(session, other) is None
    assert altered is not None and altered.state == verification.ALTERED
    assert altered.lots == () and altered.cooperative == "" and altered.version is None


def _qr_values(flowables: list[Any]) -> list[str]:
    """The values of the QR widgets in flowables (tables searched, cell by cell)."""
    found: list[str] = []
    for item in flowables:
        rows = getattr(item, "_cellvalues", None) if isinstance(item, Table) else None
        cells = [c for row in rows for c in row] if rows is not None else [item]
        for cell in cells:
            if isinstance(cell, Drawing):
                found += [w.value for w in cell.contents if isinstance(w, QrCodeWidget)]
    return found


def _decode(drawing: Drawing) -> str | None:
    """The QR code read back from its picture, when a decoder is installed (None if not)."""
    try:
        import zxingcpp  # type: ignore[import-not-found]
        from reportlab.graphics import renderPM
    except ImportError:
        return None
    image = renderPM.drawToPIL(drawing, dpi=300)
    results = zxingcpp.read_barcodes(image)
    return results[0].text if results else ""


def test_the_record_pdf_carries_a_qr_code_of_its_public_page(
    world, app, reading_store, public_url
) -> None:
    sealed = sealed_delivery(world, reading_store)
    record = _record(app, sealed["id"])
    code = verification.short_code(record.record_hash)
    expected = f"{public_url}/v/{code}"
    block = verification.qr_block(record.record_hash)
    assert _qr_values(block) == [expected]
    decoded = _decode(verification.qr_drawing(record.record_hash))
    assert decoded in (None, expected)  # None: no decoder here, the widget's value is checked
    # The QR block is in the record's PDF, next to the hashes: the PDF says the address and
    # the short code in words too.
    pdf = record_pdf.render(json.loads(record.document), record.record_hash, record.previous_hash)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", "", text)
    assert expected in flat and verification.grouped(code) in flat
    assert f"{public_url}/verification" in flat
    # And the same through the API a cooperative downloads it from.
    response = world["hygiene_a"].get(f"/api/v1/records/{record.id}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert expected in re.sub(
        r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    )


def test_the_qr_block_alone_renders(public_url) -> None:
    """The drawing in a PDF on its own (whatever the rest of the record's PDF does)."""
    record_hash = hashlib_of("demo")
    out = io.BytesIO()
    build(out, verification.qr_block(record_hash), "QR", "QR")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(out.getvalue())).pages)
    code = verification.short_code(record_hash)
    assert f"{public_url}/v/{code}" in re.sub(r"\s+", "", text)
    assert base64.b32decode(code).hex() == record_hash[:20]


def hashlib_of(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
