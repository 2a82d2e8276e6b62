"""« Mesures en conflit » on /admin: readings that contradicted a stored one (first write
wins, docs/storage.md), made by the gateway's real SQLite sink (`write_first`, built from the
settings as the gateway builds it, on the file the server reads), read as the admin reads
the page: each cooperative's admin sees its own probes' conflicts only, with the probe, the
channel, the instant in Brussels time, the value kept and the one refused (decimal comma),
newest first, bounded; and the page still opens when the reading store does not answer."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from coldchain.protocol import Reading
from coldchain.readingstore.influxdb import InfluxQLReadingStore
from coldchain.readingstore.registry import make_sink
from coldchain.settings import StoreSettings
from server.core.languages import LANG_COOKIE
from server.domain import reading_conflicts
from server.domain.place_readings import to_ms
from server.pages import i18n
from tests.harness.servers import InfluxDB1, free_port
from tests.pages.conftest import FormBrowser, form_browsers
from tests.server.world import World

# 21 November 2026, 13:05 UTC: 14:05 in Brussels (winter time, UTC+1).
AT = datetime(2026, 11, 21, 13, 5, 30, tzinfo=UTC)


@pytest.fixture
def users(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    ids = world.ids
    # A second probe of cooperative A, with a label; one of cooperative B.
    world["admin_a"].ok(
        "POST", "/api/v1/probes",
        {"probe_id": "van-a-2", "label": "Frigo arrière", "owner_id": ids["A"]}, 201,
    )  # fmt: skip
    world["admin_b"].ok(
        "POST", "/api/v1/probes", {"probe_id": "van-b-1", "owner_id": ids["B"]}, 201
    )
    yield from form_browsers(app, "admin_a", "admin_b")


def conflicts_shown(page: str) -> list[str]:
    """The rows of the « Mesures en conflit » table as text, top to bottom."""
    table = re.search(r'<table id="reading-conflicts">(.*?)</table>', page, re.S)
    assert table is not None, "no « Mesures en conflit » table"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)[1:]  # after the header
    return [
        html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))).strip() for row in rows
    ]


def write_conflicts(store: StoreSettings) -> None:
    """First values, then second values for the same instants, through the gateway's sink
    (built from the settings as the gateway builds it)."""
    sink = make_sink(store)
    t, later = to_ms(AT), to_ms(AT + timedelta(minutes=10))
    try:
        assert (
            sink.write_first(
                [
                    Reading("van-a-2", "air", t, 41, 3.3),
                    Reading("van-a-1", "product", later, 7, None, "disconnected"),
                    Reading("van-b-1", "air", t, 5, 4.0),
                    Reading("cr1", "air", t, 9, 2.5),  # producer 1's room probe
                ]
            )
            == []
        )
        # Two different forged values for one instant: two conflicts.
        forged = sink.write_first(
            [Reading("van-a-2", "air", t, 43, -1.5), Reading("van-a-2", "air", t, 44, 8.0)]
        )
        assert [(c.stored.value, c.new.value) for c in forged] == [(3.3, -1.5), (3.3, 8.0)]
        time.sleep(0.005)  # received after: shown above it
        assert len(sink.write_first([
            Reading("van-a-1", "product", later, 8, 5.25, None, False),
            Reading("van-b-1", "air", t, 6, 9.9),
            Reading("cr1", "air", t, 10, 7.7),
        ])) == 3  # fmt: skip
    finally:
        sink.close()


def test_each_admin_sees_their_probes_conflicts(
    app: FastAPI,
    users: dict[str, FormBrowser],
    influxdb1: InfluxDB1,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin_a, admin_b = users["admin_a"], users["admin_b"]
    before = html.unescape(admin_a.get("/admin").text)
    assert "Mesures en conflit" in before
    assert conflicts_shown(before) == ["Aucune mesure en conflit."]

    written = datetime.now(UTC)
    write_conflicts(app.state.settings.store)
    page = html.unescape(admin_a.get("/admin").text)
    assert "Mesures en conflit" in page
    assert (
        "La première valeur reçue est gardée comme preuve et n'est jamais remplacée" in page
        and "Une sonde qui envoie deux valeurs pour un même instant est en panne ou usurpée : "
        "vérifiez-la, ou changez son mot de passe du broker"
        in page
    )
    newest, *older = conflicts_shown(page)  # cooperative A's two probes only
    assert newest.startswith("van-a-1 produit (simulant) 21/11/2026 14:15 sonde déconnectée · n° 7")
    assert "5,25 °C · n° 8 · horloge non synchronisée" in newest
    for row in older:
        assert row.startswith("van-a-2 (Frigo arrière) air 21/11/2026 14:05 3,3 °C · n° 41 ")
        assert "horloge" not in row
        # Received a moment ago, said in Brussels time as well.
        assert row[-16:] in {i18n.local_time(at, "fr") for at in (written, datetime.now(UTC))}
    refused = [re.search(r" 3,3 °C · n° 41 (.+? · n° \d+) ", row) for row in older]
    assert sorted(found.group(1) for found in refused if found) == [
        "-1,5 °C · n° 43",
        "8 °C · n° 44",
    ]
    assert "van-b-1" not in page and "9,9" not in page  # cooperative B's probe
    assert "cr1" not in "".join(conflicts_shown(page)) and "7,7" not in page  # a producer's

    theirs = conflicts_shown(html.unescape(admin_b.get("/admin").text))
    assert len(theirs) == 1 and theirs[0].startswith("van-b-1 air 21/11/2026 14:05 4 °C · n° 5 ")
    assert "9,9 °C · n° 6" in theirs[0]

    admin_a.client.cookies.set(LANG_COOKIE, "nl")
    dutch = html.unescape(admin_a.get("/admin").text)
    assert "Tegenstrijdige metingen" in dutch and "is defect of wordt misbruikt" in dutch
    assert "3,3 °C · nr. 41" in conflicts_shown(dutch)[1]
    admin_a.client.cookies.set(LANG_COOKIE, "fr")

    # The same writes through the InfluxDB 1.x sink, read by the server from InfluxDB 1.6.7:
    # the same rows (but when each was received).
    on_sqlite = app.state.reading_store
    write_conflicts(StoreSettings(kind="influxdb1", url=influxdb1.url, database="coldchain"))
    app.state.reading_store = InfluxQLReadingStore(influxdb1.url, "coldchain")
    try:
        from_influx = conflicts_shown(html.unescape(admin_a.get("/admin").text))
    finally:
        app.state.reading_store.close()
        app.state.reading_store = on_sqlite
    assert from_influx[0][:-16] == newest[:-16]
    assert sorted(row[:-16] for row in from_influx) == sorted(row[:-16] for row in [newest, *older])

    assert "Seules les" not in page
    monkeypatch.setattr(reading_conflicts, "LIMIT", 2)  # bounded: the newest only, and said
    bounded = html.unescape(admin_a.get("/admin").text)
    assert [row[:7] for row in conflicts_shown(bounded)] == ["van-a-1", "van-a-2"]
    assert "Seules les 2 plus récentes sont affichées." in bounded
    # InfluxDB down (nothing listens on its port): the rest of /admin is there, and says why
    # the conflicts are missing.
    kept = app.state.reading_store
    app.state.reading_store = InfluxQLReadingStore(f"http://127.0.0.1:{free_port()}", "coldchain")
    try:
        page = admin_a.get("/admin")
    finally:
        app.state.reading_store.close()
        app.state.reading_store = kept
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "La base des mesures ne répond pas" in text
    assert "van-a-1" in text  # the probe list is still there
