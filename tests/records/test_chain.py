"""Tampering shows: any edited stored field, or a record removed from the middle of the
chain, makes verification fail and name the record. Late readings give a new version."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, update

from server.core.models.records import SealedRecord, SealedRecordImmutable
from server.records import changes
from tests.records.support import END, prepare, run, write_readings

BACKLOG_FROM = END - timedelta(minutes=60)


def _seal(world, status=201):
    return world["hygiene_a"].ok(
        "POST", f"/api/v1/records/deliveries/{world.ids['DA']}/seal", status=status
    )


def _verify(world):
    return world["hygiene_a"].ok(
        "GET", "/api/v1/records/verify", params={"cooperative_id": world.ids["A"]}
    )


@pytest.fixture
def three_versions(world, reading_store):
    """v1 sealed without the probe's last hour; the backlog arrives (v2); then more (v3)."""
    prepare(world)
    write_readings(reading_store, end=BACKLOG_FROM)
    run(world)  # closing seals version 1
    first = _seal(world, status=200)  # nothing new since: no new version
    write_readings(reading_store, start=BACKLOG_FROM, end=END - timedelta(minutes=30), seq0=10_000)
    second = _seal(world)
    write_readings(reading_store, start=END - timedelta(minutes=30), end=END, seq0=20_000)
    third = _seal(world)
    return [first, second, third]


def test_late_backlog_gives_a_new_version_saying_what_changed(world, three_versions) -> None:
    first, second, _third = three_versions
    assert (first["version"], second["version"]) == (1, 2)
    assert first["changes"] == []
    assert any("arrivée(s) après le scellement" in c and "frais" in c for c in second["changes"])
    assert _verify(world)["ok"] is True and _verify(world)["checked"] == 3
    hygiene = world["hygiene_a"]
    versions = hygiene.ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    assert [v["version"] for v in versions] == [1, 2, 3]
    old = hygiene.get(f"/api/v1/records/{first['id']}/pdf")
    assert old.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(old.content)).pages)
    assert "version 1" in text and first["record_hash"] in text.replace("\n", "")
    new = hygiene.get(f"/api/v1/records/{second['id']}/pdf")
    new_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(new.content)).pages)
    assert "Modifications depuis la version 1" in new_text and "données tardives" in new_text
    # v1 keeps its own readings: fewer than v2's.
    v1 = json.loads(hygiene.ok("GET", f"/api/v1/records/{first['id']}/json")["document"])
    v2 = json.loads(hygiene.ok("GET", f"/api/v1/records/{second['id']}/json")["document"])
    assert len(v1["zones"][0]["readings"]) < len(v2["zones"][0]["readings"])
    # The changes sealed as facts give back the sealed French, byte for byte; in Dutch, the
    # PDF says them from the same facts.
    assert changes.sentences(v2["change_facts"]) == v2["changes"]
    dutch = hygiene.get(f"/api/v1/records/{second['id']}/pdf?lang=nl")
    dutch_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(dutch.content)).pages)
    assert "laattijdige gegevens" in dutch_text and "données tardives" not in dutch_text


FIELDS = {
    "document": lambda r: r.document.replace('"min":', '"min":-', 1),
    "sealed_at": lambda r: r.sealed_at + timedelta(seconds=1),
    "version": lambda r: r.version + 10,
    "delivery_id": lambda r: r.delivery_id + 1000,
    "sequence": lambda r: r.sequence + 10,
    "previous_hash": lambda r: "f" * 64,
    "record_hash": lambda r: "0" * 64,
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_editing_any_stored_field_is_caught_and_named(world, app, three_versions, field) -> None:
    target = three_versions[1]
    with app.state.sessionmaker() as session:
        record = session.get(SealedRecord, target["id"])
        value = FIELDS[field](record)
        # Straight SQL, as someone with database access would do it (the ORM refuses).
        session.execute(
            update(SealedRecord).where(SealedRecord.id == record.id).values({field: value})
        )
        session.commit()
    report = _verify(world)
    assert report["ok"] is False
    assert report["first_bad"]["record_id"] == target["id"], report


def test_deleting_a_record_from_the_middle_is_caught(world, app, three_versions) -> None:
    with app.state.sessionmaker() as session:
        session.execute(delete(SealedRecord).where(SealedRecord.id == three_versions[1]["id"]))
        session.commit()
    report = _verify(world)
    assert report["ok"] is False
    assert report["first_bad"]["record_id"] == three_versions[2]["id"]
    assert "manquant" in report["first_bad"]["reason_fr"]


def test_the_orm_refuses_to_update_a_sealed_record(app, three_versions) -> None:
    with app.state.sessionmaker() as session:
        record = session.get(SealedRecord, three_versions[0]["id"])
        record.version = 7
        with pytest.raises(SealedRecordImmutable):
            session.commit()
