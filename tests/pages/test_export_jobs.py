"""The inspection page's background exports are kept in the database
(server/records/export_jobs.py, table `export_job`): a job and its file survive a server
restart (a new app on the same database); a job running when its server stopped says it
was interrupted, in French, instead of running forever — the server stopped properly, or
died (its heartbeat stopped); a removed or expired file says « Fichier supprimé le … »
instead of offering its link; files go after `records.export_keep_hours`; a job id that is
not a number, or not the user's, gets the French 404 page.

Real components: the app (server/app.py) with its lifespan, the world of
tests/server/world.py on SQLite, the real reading store; pages through their forms."""

from __future__ import annotations

import html
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from coldchain import clock
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.app import create_app
from server.core.models.exports import ExportJob, JobStatus
from server.records import export_jobs
from server.records.export_jobs import Report
from tests.harness.app import make_settings
from tests.pages.conftest import page_login, signed_in
from tests.pages.test_inspection_page import post_form, wait_done
from tests.server.world import World

SENT = {"first_day": "2026-03-10", "last_day": "2026-03-10", "background": "1"}
NOT_FOUND = "Page introuvable."


@pytest.fixture
def browsers(app: FastAPI, world: World) -> Iterator[dict[str, TestClient]]:
    """Two officers of two cooperatives (of the `world`), signed in through the login form."""
    assert "hygiene_b" in world.user_ids
    yield from signed_in(app, "hygiene_a", "hygiene_b")


def start_export(client: TestClient, world: World) -> str:
    """Prepare the export of the depot's room for D1 through the form; the job's page."""
    started = post_form(client, {**SENT, "room": [world.ids["CRA"]]}, follow_redirects=False)
    assert started.status_code == 303, started.text
    return str(started.headers["location"])


def job_of(app: FastAPI, job_url: str) -> ExportJob:
    with app.state.sessionmaker() as session:
        job: ExportJob | None = session.get(ExportJob, int(job_url.rsplit("/", 1)[1]))
        assert job is not None
        return job


def test_jobs_and_files_survive_a_restart_and_a_running_job_says_interrupted(
    world: World, database_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    settings = make_settings(database_url, tmp_path)
    user = world.user_ids["hygiene_a"]
    release = threading.Event()

    def slow(_report: Report, out: IO[bytes]) -> None:
        out.write(b"half a ZIP")
        release.wait(10)  # still writing when the server stops

    first = create_app(settings, reading_store=reading_store)
    with TestClient(first) as browser:
        assert page_login(browser, "hygiene_a").status_code == 303
        done_url = start_export(browser, world)
        status = wait_done(browser, done_url)
        assert status["state"] == "done"
        zipped = browser.get(status["download"]).content
        slow_id = export_jobs.of(first).start(user, "lent.zip", slow)
        assert browser.get(f"/inspection/jobs/{slow_id}/status").json()["state"] == "running"
    # Leaving the block stopped the first server: its running job will not finish.
    release.set()

    second = create_app(settings, reading_store=reading_store)
    with TestClient(second) as browser:
        assert page_login(browser, "hygiene_a").status_code == 303
        status = browser.get(f"{done_url}/status").json()
        assert status["state"] == "done" and status["download"]
        assert browser.get(status["download"]).content == zipped
        stopped = browser.get(f"/inspection/jobs/{slow_id}/status").json()
        assert stopped["state"] == "failed"
        assert stopped["text"] == (
            "✖ L'export a échoué. L'export a été interrompu : le serveur s'est arrêté pendant "
            "sa préparation. Relancez-le."
        )
        page = html.unescape(browser.get(f"/inspection/jobs/{slow_id}").text)
        assert "le serveur s'est arrêté pendant sa préparation" in page
        assert browser.get(f"/inspection/jobs/{slow_id}/download").status_code == 500
        english = browser.get(
            f"/inspection/jobs/{slow_id}/status", headers={"Accept-Language": "en"}
        ).json()
        assert "The export was interrupted: the server stopped" in english["text"]
    assert not (tmp_path / "exports" / str(slow_id)).exists()  # its half file removed


def test_a_job_whose_server_died_is_marked_interrupted_when_a_server_starts(
    world: World, app: FastAPI, database_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    """A crash leaves no time to say anything: the job's heartbeat stops. A job whose
    heartbeat is recent belongs to a server still running (several processes): kept."""
    user = world.user_ids["hygiene_a"]
    folder = tmp_path / "exports"
    now = export_jobs.real_now()
    with app.state.sessionmaker() as session:
        dead, alive = (
            ExportJob(
                owner_id=user,
                status=JobStatus.RUNNING,
                progress=0.4,
                filename=f"{name}.zip",
                heartbeat_at=beat,
            )
            for name, beat in (("mort", now - timedelta(minutes=5)), ("vivant", now))
        )
        session.add_all([dead, alive])
        session.flush()
        for job in (dead, alive):
            path = folder / str(job.id) / job.filename
            path.parent.mkdir(parents=True)
            path.write_bytes(b"PK")
            job.file_path = str(path)
        session.commit()
    restarted = create_app(make_settings(database_url, tmp_path), reading_store=reading_store)
    with TestClient(restarted) as browser:
        assert page_login(browser, "hygiene_a").status_code == 303
        gone = browser.get(f"/inspection/jobs/{dead.id}/status").json()
        assert gone["state"] == "failed" and "interrompu" in gone["text"]
        assert browser.get(f"/inspection/jobs/{alive.id}/status").json()["state"] == "running"
        # Its reason is kept in every language (migration 0011): a Dutch reader reads Dutch.
        browser.cookies.set("coldchain_lang", "nl")
        dutch = browser.get(f"/inspection/jobs/{dead.id}/status").json()["text"]
        assert "interrompu" not in dutch and dutch.startswith("✖"), dutch
    assert not (folder / str(dead.id)).exists() and (folder / str(alive.id)).exists()


def test_a_removed_file_says_when_instead_of_offering_its_link(
    app: FastAPI, world: World, browsers: dict[str, TestClient]
) -> None:
    officer = browsers["hygiene_a"]
    job_url = start_export(officer, world)
    wait_done(officer, job_url)
    job = job_of(app, job_url)
    assert job.file_path is not None
    shutil.rmtree(Path(job.file_path).parent)  # someone cleaned the folder by hand
    status = officer.get(f"{job_url}/status").json()
    deleted_at = job_of(app, job_url).file_deleted_at
    assert deleted_at is not None
    when = deleted_at.astimezone(clock.zone()).strftime("%d/%m/%Y %H:%M")
    said = f"Fichier supprimé le {when} : préparez un nouvel export."
    assert status["state"] == "done" and status["download"] is None and status["text"] == said
    page = html.unescape(officer.get(job_url).text)
    assert said in page and 'id="download-line" hidden' in page
    refused = officer.get(f"{job_url}/download")
    assert refused.status_code == 410 and said in html.unescape(refused.text)


def test_files_are_removed_after_the_kept_period(
    app: FastAPI, world: World, browsers: dict[str, TestClient]
) -> None:
    officer = browsers["hygiene_a"]
    old_url, new_url = start_export(officer, world), start_export(officer, world)
    for url in (old_url, new_url):
        wait_done(officer, url)
    keep = timedelta(hours=app.state.settings.records.export_keep_hours)
    with app.state.sessionmaker() as session:
        old = session.get(ExportJob, job_of(app, old_url).id)
        assert old is not None and old.finished_at is not None and old.file_path
        old_file = Path(old.file_path)
        old.finished_at -= keep + timedelta(minutes=1)
        session.commit()
    export_jobs.of(app).sweep()  # what the server's timer does every 15 s
    assert not old_file.exists()
    assert "Fichier supprimé le" in officer.get(f"{old_url}/status").json()["text"]
    assert officer.get(f"{new_url}/status").json()["download"]  # not yet its time


@pytest.mark.parametrize(
    "job_id", ["abc", "1 OR 1=1", "-1", "1.0", "²", "１", "9" * 12, "0x1", "%00"]
)
def test_a_job_id_that_is_not_a_number_is_refused_in_french(
    browsers: dict[str, TestClient], job_id: str
) -> None:
    officer = browsers["hygiene_a"]
    for suffix in ("", "/download"):
        page = officer.get(f"/inspection/jobs/{job_id}{suffix}")
        assert page.status_code == 404 and NOT_FOUND in page.text, (job_id, suffix)
    status = officer.get(f"/inspection/jobs/{job_id}/status")
    assert status.status_code == 404 and status.json() == {"state": "missing"}


def test_another_users_job_is_refused_like_one_that_does_not_exist(
    world: World, browsers: dict[str, TestClient]
) -> None:
    job_url = start_export(browsers["hygiene_a"], world)
    wait_done(browsers["hygiene_a"], job_url)
    other = browsers["hygiene_b"]
    for suffix in ("", "/download"):
        page = other.get(f"{job_url}{suffix}")
        assert page.status_code == 404 and NOT_FOUND in page.text
    assert other.get(f"{job_url}/status").status_code == 404
