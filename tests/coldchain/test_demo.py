"""`coldchain demo` end to end at 300x (the speed the README suggests): Mosquitto, gateway,
alert worker, server and seven probes running the real firmware under MicroPython, through
the scripted day (5 h 30 in about 1 min 10 s). The day must produce one alert per scenario
(coldchain/demo/day.py) and nothing else, and seal a record per delivery, every document of
it reading as an inspector expects; then the system goes on in real time until Ctrl-C.

The day runs on the production stores: the server's database on PostgreSQL 15 (the
harness's, an empty migrated database) and the readings on InfluxDB 1.6.7, named through the
environment as an operator would (docs/demo.md). So every assertion here (alerts, sealing
timer, sealed records, PDF and CSV exports, logins) is the PostgreSQL path end to end. The
demo's default SQLite files are not run a second time here (a whole day costs ~100 s of the
suite's budget): the server tests run on both SQLite and PostgreSQL (tests/harness/app.py
`database_url`), the gateway's SQLite store has its own tests, and `scripts/demo` runs SQLite."""

from __future__ import annotations

import ast
import hashlib
import html
import io
import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy

from coldchain.commands.demo import demo_environment
from coldchain.demo import day, seed
from coldchain.readingstore.registry import make_reading_store
from coldchain.settings import ClockSettings, StoreSettings
from server.core import catalogue
from server.domain import categories
from tests.coldchain.test_up import COLDCHAIN, alive, children_of
from tests.harness.app import Databases
from tests.harness.postgres import Postgres
from tests.harness.servers import free_port, make_influxdb1, require_binary
from tests.server.world import BRUSSELS
from tests.support.documents import check_french, english_words, text_of
from tests.support.dutch import french_words_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_day(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, databases: Databases
) -> Iterator[dict[str, Any]]:
    """The day on PostgreSQL (server) and InfluxDB 1.6.7 (readings): see the module's note."""
    require_binary("mosquitto")
    require_binary("micropython")
    where = tmp_path_factory.mktemp("demo")
    influxdb = make_influxdb1(where / "influxdb")
    influxdb.start()
    database_url = databases.fresh_postgres(postgres)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    port = free_port()
    env |= {
        "COLDCHAIN_MQTT__PORT": str(free_port()),
        "COLDCHAIN_SERVER__PORT": str(port),
        "COLDCHAIN_GATEWAY__METRICS_PORT": str(free_port()),
        "COLDCHAIN_SERVER__DATABASE_URL": database_url,
        "COLDCHAIN_STORE__KIND": "influxdb1",
        "COLDCHAIN_STORE__URL": influxdb.url,
    }
    lines: list[str] = []
    proc = subprocess.Popen(
        [COLDCHAIN, "demo", "--speed", "300"],
        cwd=where,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the day takes about 1 min 30 s with the setup
            lines.append(line)
            if "journée terminée" in line:
                break
        else:
            raise AssertionError("the demo stopped before the end of its day:\n" + "".join(lines))
        folder = where / "var" / "demo"
        yield {
            "proc": proc,
            "lines": lines,
            "folder": folder,
            "url": f"http://127.0.0.1:{port}",
            "children": children_of(proc.pid),
            "database_url": database_url,
            "store": StoreSettings(kind="influxdb1", url=influxdb.url),
        }
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        influxdb.stop()
        databases.drop(database_url)


def logs_tail(folder: Path, service: str, lines: int = 80) -> str:
    """The end of a service's log (var/demo/logs), for a failure's message: a CI run once
    found no alert at all, and the worker's own words are what tells why."""
    path = folder / "logs" / f"{service}.log"
    if not path.exists():
        return f"({path} absent)"
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path}, last {len(tail)} lines:\n" + "\n".join(tail)


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on the demo's server database (PostgreSQL here)."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def places(database_url: str) -> dict[tuple[str, int], str]:
    """(zone|cold_room, id) -> the day's place key (V1_froid, P2...)."""
    vans = {v.name: v for v in day.VANS}
    found: dict[tuple[str, int], str] = {}
    for zone_id, zone, van in query(
        database_url,
        "select zone.id, zone.name, van.name from zone join van on van.id = zone.van_id",
    ):
        found[("zone", zone_id)] = next(k for k, n in vans[van].zones if n == zone)
    rooms = {p.cold_room: p.key for p in day.PRODUCERS}
    for room_id, name in query(database_url, "select id, name from cold_room"):
        found[("cold_room", room_id)] = rooms[name]
    return found


def test_the_demo_day_gives_one_alert_per_scenario_and_sealed_records(
    demo_day: dict[str, Any],
) -> None:
    url = demo_day["database_url"]
    assert url.startswith("postgresql") and not (demo_day["folder"] / "coldchain.sqlite3").exists()
    where = places(url)
    alerts = []
    for kind, severity, zone_id, room_id, late, words in query(
        url, "select kind, severity, zone_id, cold_room_id, detected_late, text_fr from alert"
    ):
        place = where[("zone", zone_id)] if zone_id else where[("cold_room", room_id)]
        alerts.append((place, kind, severity, bool(late), words))
    seen = sorted(a[:3] for a in alerts)
    assert seen == sorted(day.EXPECTED_ALERTS), "\n".join(
        [
            *map(str, alerts),
            "--- the demo's output:",
            "".join(demo_day["lines"]),
            logs_tail(demo_day["folder"], "alert-worker"),
        ]
    )
    late = [a[:3] for a in alerts if a[3]]
    assert late == [("V2_froid", "temperature_excursion", "critical")]
    assert all(a[4] for a in alerts)  # every alert has its French text

    minced = query(
        url,
        "select load.lot_reference from alert join alert_lot on alert_lot.alert_id = alert.id"
        " join load on load.id = alert_lot.load_id"
        " where alert.kind = 'temperature_excursion' and alert.severity = 'critical'",
    )
    assert ("HACHE-0611",) in minced

    deliveries = query(url, "select id, status from delivery")
    assert len(deliveries) == 3 and all(status == "closed" for _, status in deliveries)
    sealed = {row[0] for row in query(url, "select delivery_id from sealed_record")}
    assert sealed == {d for d, _ in deliveries}

    # The gateway stored every probe's day (one reading a minute) in InfluxDB, read back
    # through the server's own reading store; no SQLite store was made.
    assert not (demo_day["folder"] / "readings.sqlite3").exists()
    store = make_reading_store(demo_day["store"])
    try:
        counts = {probe.probe_id: store.count(probe.probe_id) for probe in day.PROBES}
    finally:
        store.close()
    for probe in day.PROBES:
        assert counts[probe.probe_id] >= day.DAY_MIN * 0.9, counts


def test_people_log_in_with_the_printed_credentials_and_see_their_records(
    demo_day: dict[str, Any],
) -> None:
    text = (demo_day["folder"] / "identifiants.txt").read_text()
    assert text in "".join(demo_day["lines"])  # printed as written
    email, password = next(
        line.split()[-2:] for line in text.splitlines() if "hygiene.condroz@" in line
    )
    body = json.dumps({"email": email, "password": password}).encode()
    login = urllib.request.Request(
        demo_day["url"] + "/api/v1/auth/login",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as answer:
        token = json.load(answer)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = urllib.request.Request(demo_day["url"] + "/api/v1/users/me", headers=headers)
    with urllib.request.urlopen(me, timeout=10) as answer:
        coop = json.load(answer)["memberships"][0]["organisation_id"]
    verify = urllib.request.Request(
        f"{demo_day['url']}/api/v1/records/verify?cooperative_id={coop}", headers=headers
    )
    with urllib.request.urlopen(verify, timeout=10) as answer:
        chain = json.load(answer)
    assert chain["ok"] and chain["checked"] >= 1, chain  # Condroz's delivery, sealed and intact

    # The Flemish grower of the French demo (coldchain/demo/seed.py DUTCH_SPEAKERS) signs in
    # through the pages as a browser does: their pages, and the extracts of their lots they
    # download from them, are in Dutch.
    dutch, french = catalogue.words("pages", "nl"), catalogue.words("pages", "fr")
    with httpx.Client(base_url=demo_day["url"], timeout=30) as browser:
        email, password = _people(demo_day)["producteur.potager"]
        form = {"email": email, "password": password, "csrf": _csrf(browser.get("/login").text)}
        home = browser.post("/login", data=form, follow_redirects=True)
        assert dutch["my_rooms"] in home.text and french["my_rooms"] not in home.text
        lots = browser.get("/lots").text
        assert dutch["my_lots"] in lots and dutch["logout"] in lots, lots[:2000]
        link = r'href="(/api/v1/records/\d+/producer-extract\.pdf[^"]*)"'
        extracts = sorted(set(re.findall(link, lots)))
        assert len(extracts) == 2, extracts  # the Potager's lots of two deliveries, sealed
        pdf = browser.get(html.unescape(extracts[0]))
        assert pdf.headers["content-type"] == "application/pdf"
    text = text_of(pdf.content)
    said = catalogue.words("records", "nl")["pdf_extract_scope"]
    assert said in text and catalogue.words("records", "fr")["pdf_extract_scope"] not in text


def typed_by_the_demo() -> set[str]:
    """What the demo's people typed (coldchain/demo/day.py and seed.py: names of places,
    people, shops, products, notes and corrective actions, in French as they wrote them),
    the legal citations as published and the ZIP's file names: what a Dutch document may
    quote in French."""
    typed: set[str] = set()
    for module in (day, seed):
        tree = ast.parse(Path(module.__file__ or "").read_text())
        typed |= {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and len(node.value) >= 4
        }  # fmt: skip
    typed |= {profile.source.cite() for profile in categories.profiles().values()}
    return typed | {"alertes_et_actions_correctives.csv", "enregistrements/", "livraison-",
                    "LISEZMOI.txt", "emplacements/", "chambre-froide-"}  # fmt: skip


def _people(demo_day: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """email prefix (« hygiene.condroz ») -> (email, password), as identifiants.txt prints."""
    text = (demo_day["folder"] / "identifiants.txt").read_text()
    found = {}
    for line in text.splitlines():
        if "@" in line:
            email, password = line.split()[-2:]
            found[email.split("@")[0]] = (email, password)
    return found


def _csrf(page: str) -> str:
    """The anti-CSRF token of a page's form (server/pages/web.py)."""
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]+)">', page)
    assert found is not None, page[:500]
    return found.group(1)


def _call(url: str, token: str, method: str = "GET", body: Any = None) -> bytes:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return bytes(answer.read())


def _token(base: str, email: str, password: str) -> str:
    body = json.dumps({"email": email, "password": password}).encode()
    login = urllib.request.Request(
        base + "/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(login, timeout=10) as answer:
        return str(json.load(answer)["access_token"])


def test_every_document_of_the_demo_day_reads_as_an_inspector_expects(
    demo_day: dict[str, Any],
) -> None:
    """As the hygiene officers and producers download them: each delivery's sealed record,
    each producer's extract, the day's inspection ZIP (location summaries, HACCP plan, every
    CSV, LISEZMOI.txt). French words only (the code's own English vocabulary, not a typed
    list: tests/support/documents.py), no internal working note, no ZIP entry dated before
    the export, every file's hash in the readme."""
    base, people = demo_day["url"], _people(demo_day)
    english = english_words()
    notes = re.compile(r"\b(relues?|non lue|ours|TODO|notre choix)\b", re.I)
    documents: dict[str, str] = {}  # name -> text a person reads
    in_dutch: dict[str, str] = {}  # the same, asked in Dutch
    records: list[int] = []
    for key in sorted(k for k in people if k.startswith("hygiene.")):
        token = _token(base, *people[key])
        deliveries = json.loads(_call(f"{base}/api/v1/deliveries?limit=100", token))["data"]
        if not deliveries:
            continue
        for delivery in deliveries:
            versions = json.loads(
                _call(f"{base}/api/v1/records/deliveries/{delivery['id']}", token)
            )
            newest = max(versions, key=lambda r: r["version"])
            records.append(newest["id"])
            pdf = _call(f"{base}/api/v1/records/{newest['id']}/pdf", token)
            documents[f"{key} livraison {delivery['id']}"] = text_of(pdf)
            pdf = _call(f"{base}/api/v1/records/{newest['id']}/pdf?lang=nl", token)
            in_dutch[f"{key} levering {delivery['id']}"] = text_of(pdf)
        day_of = min(date.fromisoformat(d["day"]) for d in deliveries)
        start = datetime.combine(day_of, time(0), BRUSSELS)
        vans = json.loads(_call(f"{base}/api/v1/vans?limit=100", token))["data"]
        rooms = json.loads(_call(f"{base}/api/v1/cold-rooms?limit=100", token))["data"]
        body = {
            "start": start.isoformat(),
            "end": (start + timedelta(days=1)).isoformat(),
            "van_ids": [v["id"] for v in vans],
            "cold_room_ids": [r["id"] for r in rooms],
        }
        before = datetime.now(UTC)
        archive = zipfile.ZipFile(
            io.BytesIO(_call(f"{base}/api/v1/records/inspection-export", token, "POST", body))
        )
        readme = archive.read("LISEZMOI.txt").decode()
        documents[f"{key} LISEZMOI.txt"] = readme
        for info in archive.infolist():
            stamped = datetime(*info.date_time, tzinfo=BRUSSELS)
            assert stamped >= before - timedelta(seconds=2), (info.filename, stamped)
            content = archive.read(info.filename)
            if info.filename.endswith(".pdf"):
                documents[f"{key} {info.filename}"] = text_of(content)
            elif info.filename.endswith(".csv"):
                lines = content.decode("utf-8-sig").splitlines()[1:]  # not the column names
                documents[f"{key} {info.filename}"] = "\n".join(lines)
            if info.filename != "LISEZMOI.txt":
                assert f"{hashlib.sha256(content).hexdigest()}  {info.filename}" in readme
        assert any(n.endswith("plan_haccp.pdf") for n in archive.namelist())
        assert any(n.endswith("resume.pdf") for n in archive.namelist())
        # The same day for an FAVV inspector, in Dutch: not one French word of ours.
        dutch = zipfile.ZipFile(
            io.BytesIO(
                _call(
                    f"{base}/api/v1/records/inspection-export",
                    token,
                    "POST",
                    body | {"lang": "nl"},
                )
            )
        )
        for info in dutch.infolist():
            content = dutch.read(info.filename)
            if info.filename.endswith(".pdf"):
                in_dutch[f"{key} {info.filename}"] = text_of(content)
            elif info.filename.endswith((".csv", ".txt")):
                lines = content.decode("utf-8-sig").splitlines()
                in_dutch[f"{key} {info.filename}"] = "\n".join(
                    lines[1:] if info.filename.endswith(".csv") else lines
                )
    assert len(records) == 3, records  # the day's three deliveries, each sealed
    for key in sorted(k for k in people if k.startswith("producteur.")):
        token = _token(base, *people[key])
        for record_id in records:
            extract = f"{base}/api/v1/records/{record_id}/producer-extract.pdf"
            try:
                pdf = _call(f"{extract}?lang=fr", token)
            except urllib.error.HTTPError as refused:
                assert refused.code in (403, 404), refused.code  # not one of their deliveries
                continue
            documents[f"{key} extrait {record_id}"] = text_of(pdf)
            in_dutch[f"{key} uittreksel {record_id}"] = text_of(_call(f"{extract}?lang=nl", token))
            if seed.language_of(key, "fr") == "nl":
                # Asked without ?lang=, in the language the Dutch-speaking producer chose.
                own = text_of(_call(extract, token))
                in_dutch[f"{key} uittreksel {record_id} (eigen keuze)"] = own
    assert sum("extrait" in name for name in documents) >= 3
    typed = typed_by_the_demo()
    found = {name: french_words_in(text, typed) for name, text in in_dutch.items()}
    # Not blind: the same documents asked in French are full of the words it looks for.
    assert all(len(french_words_in(documents[n], typed)) > 5 for n in documents if "livraison" in n)
    assert len(in_dutch) > 10 and not any(found.values()), {n: w for n, w in found.items() if w}
    for name, text in documents.items():
        said = sorted(w for w in english if re.search(rf"(?<![\w-]){w}(?![\w-])", text, re.I))
        assert not said, f"{name}: English words {said}"
        assert not notes.search(text), f"{name}: a working note: {notes.search(text)}"
        if not name.endswith((".csv", ".txt")):
            check_french(text)


def test_ctrl_c_stops_the_demo_and_everything_it_started(demo_day: dict[str, Any]) -> None:
    proc: subprocess.Popen[str] = demo_day["proc"]
    children = demo_day["children"] | children_of(proc.pid)
    assert len(children) >= 4 + len(day.PROBES)  # broker, gateway, worker, server, probes
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    assert not [pid for pid in children if alive(pid)]


def test_the_demo_never_wipes_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "coldchain.sqlite3").write_text("a cooperative's real data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    env |= {"COLDCHAIN_MQTT__PORT": str(free_port()), "COLDCHAIN_SERVER__PORT": str(free_port())}
    refused = subprocess.run(
        [COLDCHAIN, "demo", "--dir", str(precious)], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "is not a demo folder" in refused.stderr
    assert (precious / "coldchain.sqlite3").read_text() == "a cooperative's real data"
    too_fast = subprocess.run(
        [COLDCHAIN, "demo", "--speed", "5000"], env=env, capture_output=True, text=True
    )
    assert too_fast.returncode == 2 and "--speed" in too_fast.stderr


def test_the_demo_takes_production_stores_from_the_environment_only(tmp_path: Path) -> None:
    """Unnamed, the demo's database and readings are SQLite files in its folder, set in the
    environment (which wins over any configuration file, so a real installation's
    `[server] database_url` never receives the demo); named in the environment, left alone."""
    clock_settings = ClockSettings(speed=60, meets_real_at=2e9)
    own = demo_environment(tmp_path, clock_settings, {})
    assert own["COLDCHAIN_SERVER__DATABASE_URL"] == f"sqlite:///{tmp_path / 'coldchain.sqlite3'}"
    assert own["COLDCHAIN_STORE__KIND"] == "sqlite"
    assert own["COLDCHAIN_STORE__SQLITE_PATH"] == str(tmp_path / "readings.sqlite3")
    named = {
        "COLDCHAIN_SERVER__DATABASE_URL": "postgresql://coldchain@127.0.0.1/demo",
        "COLDCHAIN_STORE__KIND": "influxdb1",
    }
    kept = demo_environment(tmp_path, clock_settings, named)
    assert not [k for k in kept if k.startswith(("COLDCHAIN_SERVER__", "COLDCHAIN_STORE__"))]
    assert kept["COLDCHAIN_DATA_DIR"] == str(tmp_path)  # the rest of the demo as before
