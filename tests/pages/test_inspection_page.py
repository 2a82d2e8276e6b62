"""The hygiene officer's inspection export page (server/pages/inspection_pages.py).

Over HTTP (TestClient, the world of tests/server/world.py): the form lists only what the
officer may see, says in French next to the field what is wrong, a job belongs to the
user who started it, at most a few run at once, the no-script post returns the ZIP. The
jobs kept across a restart and their files' upkeep: tests/pages/test_export_jobs.py.
In a real Chromium (module `pages` fixture): fill the form, watch the progress, download
and open the ZIP."""

from __future__ import annotations

import csv
import html
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By

from coldchain.protocol import Reading
from server.records.export_jobs import DONE, ExportJobs, Report
from server.records.export_jobs import of as jobs_of
from tests.pages.conftest import Pages, csrf_of, signed_in
from tests.server.world import BRUSSELS, World


@pytest.fixture
def browsers(app: FastAPI, world: World) -> Iterator[dict[str, TestClient]]:
    """One cookie jar per user (of the `world`), signed in through the pages' login form."""
    assert "hygiene_a" in world.user_ids
    yield from signed_in(app, "hygiene_a", "hygiene_b", "admin_a", "driver_a")


def post_form(client: TestClient, data: dict[str, Any], **options: Any) -> Any:
    """Post the export form as the browser does: with the form page's CSRF token."""
    token = csrf_of(client.get("/inspection").text)
    return client.post("/inspection", data={**data, "csrf": token}, **options)


def test_form_lists_what_the_officer_may_see(world: World, browsers: dict[str, TestClient]) -> None:
    officer = browsers["hygiene_a"]
    assert 'href="/inspection"' in officer.get("/hygiene").text  # linked from the review page
    page = officer.get("/inspection")
    assert page.status_code == 200 and "Export pour inspection" in page.text
    assert f'name="van" value="{world.ids["VA"]}"' in page.text  # own van (frais, surgelé)
    assert "frais, surgelé" in page.text
    assert f'name="room" value="{world.ids["CRA"]}"' in page.text  # own room
    assert f'name="room" value="{world.ids["CR1"]}"' in page.text  # lent to cooperative A
    assert f'value="{world.ids["VB"]}"' not in page.text  # cooperative B's van
    assert "Chambre froide ferme" not in page.text  # producer 3's room (cooperative B)
    assert browsers["driver_a"].get("/inspection").status_code == 403
    english = officer.get("/inspection", headers={"Accept-Language": "en"}).text
    assert "Inspection export (AFSCA)" in english and "At most 400 days." in english


@pytest.mark.parametrize(
    ("first", "last", "chosen", "field", "said"),
    [
        ("2026-03-10", "2026-03-09", "van", "last_day", "Le dernier jour doit être le premier"),
        ("2025-01-01", "2026-03-10", "van", "last_day", "Période trop longue : 400 jours au plus"),
        ("2026-03-10", "2026-03-10", "", "locations", "Cochez au moins une camionnette"),
        ("10/03/2026", "pas une date", "van", "last_day", "Date invalide"),
        ("2026-03-10", "2026-03-10", "foreign", "locations", "n'existe pas ou ne vous est pas"),
        ("2026-03-10", "2026-03-10", "junk", "locations", "n'existe pas ou ne vous est pas"),
    ],
)
def test_wrong_period_or_locations_said_in_french_next_to_the_field(
    world: World,
    browsers: dict[str, TestClient],
    first: str,
    last: str,
    chosen: str,
    field: str,
    said: str,
) -> None:
    ids = world.ids
    vans: Any = {"van": [ids["VA"]], "": [], "foreign": [ids["VB"]], "junk": ["1 OR 1=1"]}[chosen]
    sent = {"first_day": first, "last_day": last, "van": vans, "background": "1"}
    page = post_form(browsers["hygiene_a"], sent)
    assert page.status_code == 422
    error = html.unescape(page.text.split(f'id="error-{field}">', 1)[1].split("</p>", 1)[0])
    assert said in error, error
    assert f'value="{first}"' in page.text  # what was typed is kept


def wait_done(client: TestClient, job_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = client.get(f"{job_url}/status")
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        if body["state"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_a_job_belongs_to_its_owner_and_may_be_downloaded_again(
    world: World, browsers: dict[str, TestClient]
) -> None:
    officer = browsers["hygiene_a"]
    sent = {"first_day": "2026-03-10", "last_day": "2026-03-10", "room": [world.ids["CRA"]]}
    forged = officer.post("/inspection", data={**sent, "background": "1"})  # no CSRF token
    assert forged.status_code == 403 and "Formulaire expiré" in forged.text
    started = post_form(officer, {**sent, "background": "1"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    job_url = started.headers["location"]
    assert job_url.startswith("/inspection/jobs/")
    for other in ("hygiene_b", "admin_a"):  # another cooperative, and a colleague
        for path in ("", "/status", "/download"):
            assert browsers[other].get(job_url + path).status_code == 404, (other, path)
    assert "Page introuvable." in browsers["hygiene_b"].get(job_url).text
    status = wait_done(officer, job_url)
    assert status["state"] == DONE and status["percent"] == 100
    assert status["percent_text"] == "100\u202f%" and "L'export est prêt" in status["text"]
    assert status["text"].endswith((" ko)", " Mo)"))  # its size, with the unit
    page = officer.get(job_url)
    assert "<progress" in page.text and 'id="download"' in page.text
    download = officer.get(status["download"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert 'filename="inspection-20260310-20260310.zip"' in download.headers["content-disposition"]
    assert "LISEZMOI.txt" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert officer.get(status["download"]).content == download.content  # kept, for 24 h
    assert "24 h après sa préparation" in officer.get(job_url).text


def test_without_script_the_post_returns_the_zip(
    world: World, browsers: dict[str, TestClient]
) -> None:
    sent = {"first_day": "10/03/2026", "last_day": "11/03/2026", "van": [world.ids["VA"]]}
    answer = post_form(browsers["hygiene_a"], sent)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert f"emplacements/vehicule-{world.ids['VA']}-zone-{world.ids['VA_frais']}/releves.csv" in (
        names
    )


def test_concurrent_exports_per_user_are_limited(
    app: FastAPI, world: World, browsers: dict[str, TestClient]
) -> None:
    officer = browsers["hygiene_a"]
    jobs = jobs_of(app)
    release = threading.Event()

    def slow(_report: Report, _out: IO[bytes]) -> None:
        release.wait(10)  # a long export still running

    user = world.user_ids["hygiene_a"]
    running = [jobs.start(user, "slow.zip", slow) for _ in range(jobs.per_user)]
    try:
        sent = {"first_day": "2026-03-10", "last_day": "2026-03-10", "van": [world.ids["VA"]]}
        refused = post_form(officer, {**sent, "background": "1"})
        assert refused.status_code == 429
        assert f"Vous avez déjà {jobs.per_user} exports en préparation" in refused.text
        other = post_form(  # another user is not held up
            browsers["hygiene_b"], {**sent, "background": "1"}, follow_redirects=False
        )
        assert other.status_code == 303
    finally:
        release.set()
    for job_id in running:
        jobs.wait(job_id, 5)
        job = jobs.get(job_id, user)
        assert job is not None and job.state == DONE


def test_finished_jobs_files_are_removed_after_their_time(
    app: FastAPI, world: World, tmp_path: Path
) -> None:
    jobs = ExportJobs(app.state.sessionmaker, tmp_path / "exports", timedelta(0), per_user=1)

    def work(_report: Report, out: IO[bytes]) -> None:
        out.write(b"zip")

    user = world.user_ids["hygiene_a"]
    job_id = jobs.start(user, "a.zip", work)
    jobs.wait(job_id, 5)
    job = jobs.get(job_id, user)
    assert job is not None and job.path is not None and job.path.read_bytes() == b"zip"
    time.sleep(0.01)
    jobs.sweep()  # past its time: the file goes, the job stays and says when
    gone = jobs.get(job_id, user)
    assert gone is not None and gone.state == DONE and gone.file_deleted_at is not None
    assert not gone.downloadable and not job.path.parent.exists()


# --- In a real Chromium -------------------------------------------------------------------

SNAPSHOT = """
var line = document.getElementById("download-line");
return [document.getElementById("export-job").getAttribute("data-state"),
        document.getElementById("export-percent").textContent,
        document.getElementById("export-progress").value,
        !line.hidden && line.offsetParent !== null];
"""
DAYS = 45  # a month and a half of readings, one a minute: long enough to watch it work


def test_officer_exports_with_progress_and_opens_the_zip(pages: Pages) -> None:
    site, ids = pages.site, pages.site.ids
    store = site.app.state.reading_store
    now = datetime.now(UTC)
    store.write(
        Reading("cr1", "air", int((now - timedelta(minutes=m)).timestamp() * 1000), 50_000 + m, 3.0)
        for m in range(DAYS * 1440, 15, -1)
    )
    today = now.astimezone(BRUSSELS).date()
    first = today - timedelta(days=DAYS - 1)
    pages.login("hygiene_a")
    pages.browser.find_element(By.ID, "inspection-link").click()
    pages.wait_for(lambda: pages.browser.find_elements(By.ID, "inspection-form"))
    for name, day in (("first_day", first), ("last_day", today)):  # the date pickers' value
        field = pages.browser.find_element(By.ID, name)
        pages.browser.execute_script("arguments[0].value = arguments[1]", field, day.isoformat())
    pages.browser.find_element(By.ID, f"room-{ids['CR1']}").click()
    pages.click_and_wait("prepare", "%", "#export-percent")

    seen: list[tuple[str, str, float, bool]] = []  # state, percentage, bar, link shown
    deadline = time.monotonic() + 20
    shot = None
    while time.monotonic() < deadline:
        # One script reads it all at once: the page's own script cannot run in between.
        state, shown, value, link_shown = pages.browser.execute_script(SNAPSHOT)
        seen.append((str(state), str(shown), float(value), bool(link_shown)))
        if state == "running" and 0 < seen[-1][2] < 100 and not shot:
            shot = pages.shot("inspection-progress")  # kept: the bar on its way
        if state != "running":
            break
        time.sleep(0.05)
    assert seen[-1][0] == "done", seen[-3:]
    working = [s for s in seen if s[0] == "running" and 0 < s[2] < 100]
    assert working, seen  # the user saw it working, and how far
    assert all(shown == f"{int(value)}\u202f%" for _s, shown, value, _l in working)
    assert not any(link_shown for *_s, link_shown in working)  # no link before it is ready
    assert seen[-1][1] == "100\u202f%"
    assert "L'export est prêt" in pages.browser.find_element(By.ID, "export-state").text
    link = pages.browser.find_element(By.ID, "download")
    assert link.is_displayed()
    pages.shot("inspection-ready")

    cookie = pages.browser.get_cookie("coldchain_session")
    assert cookie is not None
    answer = httpx.get(
        str(link.get_attribute("href")), cookies={cookie["name"]: cookie["value"]}, timeout=30
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    room = f"emplacements/chambre-froide-{ids['CR1']}"
    assert set(archive.namelist()) == {
        f"{room}/releves.csv",
        f"{room}/resume.pdf",
        "alertes_et_actions_correctives.csv",
        "registre_etalonnages.csv",
        "plan_haccp.pdf",
        "LISEZMOI.txt",
    }
    text = archive.read(f"{room}/releves.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    start_ms = int(datetime.combine(first, datetime.min.time(), BRUSSELS).timestamp() * 1000)
    assert rows[0][:3] == ["heure_bruxelles", "heure_utc_ms", "sonde"]
    assert len(rows) - 1 == store.count("cr1", start_ms, None) > DAYS * 1400
    assert {r[2] for r in rows[1:]} == {"cr1"}  # the chosen room's probe only
    assert archive.read(f"{room}/resume.pdf").startswith(b"%PDF")
    readme = archive.read("LISEZMOI.txt").decode()
    assert f"{room}/releves.csv" in readme and "Export d'inspection" in readme
