"""`coldchain records ...` as the operator runs it, and the retention purge."""

from __future__ import annotations

import logging
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import update

from coldchain.cli import main
from coldchain.settings import RecordsSettings
from server.core.models.records import SealedRecord
from server.records.retention import purge
from tests.records.support import END, prepare, run, write_readings


@pytest.fixture
def env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("COLDCHAIN_SERVER__DATABASE_URL", database_url)
    monkeypatch.setenv("COLDCHAIN_STORE__SQLITE_PATH", str(tmp_path / "readings.sqlite3"))
    # The test delivery is in March 2026: look back far enough for its late readings.
    monkeypatch.setenv("COLDCHAIN_RECORDS__RESEAL_WINDOW_DAYS", "3650")
    monkeypatch.delenv("COLDCHAIN_CONFIG", raising=False)


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(["records", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.usefixtures("env")
def test_cli_seal_verify_export_inspection(world, app, reading_store, capsys, tmp_path) -> None:
    ids = world.ids
    prepare(world)
    write_readings(reading_store, end=END - timedelta(minutes=30))
    run(world)  # closing sealed version 1
    assert _run(capsys, "seal") == (0, "")  # nothing new
    write_readings(reading_store, start=END - timedelta(minutes=30), seq0=50_000)
    code, out = _run(capsys, "seal")
    assert code == 0 and "version 2" in out
    code, out = _run(capsys, "verify")
    assert code == 0 and "2 records OK" in out

    code, _ = _run(capsys, "export", "1", "-o", str(tmp_path / "v1.pdf"))
    assert code == 0
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "v1.pdf").pages)
    assert "version 1" in text and "LOT-HACHE" in text

    target = tmp_path / "inspection.zip"
    args = [
        "inspection",
        "--cooperative",
        str(ids["A"]),
        "--from",
        "2026-03-10",
        "--to",
        "2026-03-10",
        "--van",
        str(ids["VA"]),
        "-o",
        str(target),
    ]
    code, out = _run(capsys, *args)
    assert code == 0 and "mesures" in out, out
    assert "plan_haccp.pdf" in zipfile.ZipFile(target).namelist()
    # The calibration in tests/records/support.py was due on 10/09/2026: overdue today.
    code, out = _run(capsys, "calibrations-due")
    assert code == 1 and "van-a-1 air" in out and "EN RETARD depuis le 10/09/2026" in out
    code, out = _run(capsys, *args[:-2], "--van", str(ids["VB"]), "-o", str(target))
    assert code == 2 and "refused" in out  # coop B's van: not visible to coop A

    with app.state.sessionmaker() as session:
        session.execute(update(SealedRecord).where(SealedRecord.id == 1).values(version=5))
        session.commit()
    code, out = _run(capsys, "verify")
    assert code == 1 and "BROKEN at record 1" in out


def test_purge_respects_retention_and_keeps_the_chain_verifiable(
    world, app, reading_store, caplog
) -> None:
    prepare(world)
    write_readings(reading_store, end=END - timedelta(minutes=30))
    run(world)
    hygiene = world["hygiene_a"]
    seal_url = f"/api/v1/records/deliveries/{world.ids['DA']}/seal"
    hygiene.ok("POST", seal_url, status=200)  # sealed when it closed
    factory = app.state.sessionmaker
    now = datetime.now(UTC)

    with pytest.raises(ValueError, match="730"):
        purge(factory, 365, now)
    with pytest.raises(ValidationError):
        RecordsSettings(retention_days=729)
    assert purge(factory, 730, now)[0].removed == []  # too young to go

    with caplog.at_level(logging.INFO, logger="server.records.retention"):
        removed = purge(factory, 730, now + timedelta(days=731))
    assert [r[0] for r in removed[0].removed] == [1]
    assert f"removed cooperative {world.ids['A']} record #1 (delivery {world.ids['DA']} v1" in (
        caplog.text
    )
    with factory() as session:
        assert session.query(SealedRecord).count() == 0
    # Late data after the purge: the new version chains onto the purge anchor.
    write_readings(reading_store, start=END - timedelta(minutes=30), seq0=50_000)
    record = hygiene.ok("POST", seal_url, status=201)
    assert record["sequence"] == 2
    report = hygiene.ok("GET", "/api/v1/records/verify", params={"cooperative_id": world.ids["A"]})
    assert report["ok"] is True and report["checked"] == 1
