"""Exports built in the background (the pages' inspection export, server/pages/
inspection_pages.py): a months-long export takes a while, so a job (one thread) writes the
file while the browser polls how far it is, then downloads it.

Jobs are rows of `export_job` (server/core/models/exports.py): a server restart loses none.
- A job belongs to the user who started it: anyone else is told it does not exist.
- A user may run only a few at once (each one reads the whole period): `TooManyJobs`.
- Its file lives in `records.export_dir` (default <data_dir>/exports), one folder per job,
  and may be downloaded again until `records.export_keep_hours` after it was ready; then
  the file is removed and the job says « fichier supprimé le … » (so does a job whose
  file someone else removed: from the moment it is noticed).
- A job left running by a stopped server never stays "running": stopping the app marks
  its own jobs interrupted; a job whose process died without stopping (a crash, a kill)
  has its heartbeat stop, and any server marks it interrupted once the heartbeat is
  `STALE_S` old (at start, then at every pass of the timer). Both with a French reason.

The timer (`start`, from the app's lifespan) beats the heart of this process's jobs and
removes expired files every `HEARTBEAT_S`. The heartbeat is real time (the demo's fast
clock would make every job look dead); everything people read is the system clock's.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from coldchain import clock
from server.core import catalogue
from server.core.access import Viewer
from server.core.db import WRITE
from server.core.errors import ApiError, message
from server.core.models.exports import ExportJob, JobStatus
from server.domain.categories import profiles
from server.records import inspection
from server.records.locations import Location
from server.records.vocabulary import words

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = JobStatus.RUNNING, JobStatus.DONE, JobStatus.FAILED
PER_USER = 2  # exports one user may have running at once
HEARTBEAT_S = 15.0  # a running job's process says it is alive this often
STALE_S = 4 * HEARTBEAT_S  # a running job silent this long belongs to a dead process
PROGRESS_EVERY_S = 1.0  # the progress is written to the database at most this often

Report = Callable[[float], None]  # share of the work done, 0.0 .. 1.0
Work = Callable[[Report, IO[bytes]], None]  # writes the export into the file it is given


def real_now() -> datetime:
    return datetime.now(UTC)


def failure_columns(texts: dict[str, str]) -> dict[str, object]:
    """A failure reason in every language as the job's columns: all of them in
    `error_texts`, and French and English in their own columns as before migration 0011."""
    return {"error_texts": texts, "error_fr": texts["fr"], "error_en": texts["en"]}


def failure_texts(job: ExportJob) -> dict[str, str]:
    """The stored reason: every language, or French and English for an older job."""
    if job.error_texts:
        return dict(job.error_texts)
    return {"fr": job.error_fr or "", "en": job.error_en or ""}


@dataclass(frozen=True)
class JobView:
    """A job as its page shows it."""

    id: int
    owner_id: int
    filename: str
    state: str
    fraction: float
    error: dict[str, str] | None  # why it failed: language -> text
    created_at: datetime
    finished_at: datetime | None
    file_deleted_at: datetime | None
    path: Path | None

    @property
    def downloadable(self) -> bool:
        return self.state == DONE and self.path is not None

    def reason(self, lang: str) -> str:
        """Why the job failed, in `lang`. A job stores its reason in every language of the
        catalogues (`error_texts`); one that failed before migration 0011 has French and
        English only, and another language is given our own sentences (a crash, a server
        stop) and API refusals without parameters by their key; anything else stays French."""
        if self.error is None:
            return ""
        if lang in self.error:
            return self.error[lang]
        french = self.error.get("fr", "")
        for key in ("job_failed", "job_interrupted"):
            if french == words("fr")[key]:
                return words(lang)[key]
        for code, template in catalogue.words("api", "fr").items():
            if template == french and "{" not in template:
                return message(code, lang, {})
        return french

    def size(self) -> int | None:
        """The file's size in bytes; None when there is none (any more)."""
        try:
            return self.path.stat().st_size if self.path is not None else None
        except OSError:
            return None


class TooManyJobs(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass
class _Live:
    """A job this process runs: how far it is right now, when it ended."""

    fraction: float = 0.0
    written: float = 0.0  # time.monotonic() of the last progress write
    ended: threading.Event = field(default_factory=threading.Event)


class ExportJobs:
    """The export jobs of one app: started here, kept in the database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        folder: Path,
        keep: timedelta,
        per_user: int = PER_USER,
    ) -> None:
        self.sessions = sessions
        self.folder = folder.resolve()
        self.keep = keep
        self.per_user = per_user
        self._lock = threading.Lock()
        self._live: dict[int, _Live] = {}

    # --- starting and running ---------------------------------------------------------------

    def start(
        self, owner_id: int, filename: str, work: Work, session: Session | None = None
    ) -> int:
        """Run `work` in a thread, writing the job's file; its id. TooManyJobs over the
        limit of running jobs per user (counted in the database: jobs of every process).

        `session`: a writing request's own session, which holds SQLite's write lock for the
        whole request (server/core/deps.py): the job is written and committed in it, which
        lets the job's thread write. Without one, a session of its own."""
        name = Path(filename).name or "export"
        with self._lock:
            if session is None:
                with self._writing() as own:
                    job_id, path = self._insert(own, owner_id, name)
            else:
                try:
                    job_id, path = self._insert(session, owner_id, name)
                    session.commit()
                except BaseException:
                    # Broad on purpose: whatever stopped it (TooManyJobs too), the request's
                    # transaction and its write lock end here, nothing half written.
                    session.rollback()
                    raise
            live = self._live[job_id] = _Live()
        threading.Thread(
            target=self._run,
            args=(job_id, path, work, live),
            name=f"export-job-{job_id}",
            daemon=True,
        ).start()
        return job_id

    def _insert(self, session: Session, owner_id: int, name: str) -> tuple[int, Path]:
        running = session.scalar(
            select(func.count(ExportJob.id)).where(
                ExportJob.owner_id == owner_id, ExportJob.status == RUNNING
            )
        )
        if (running or 0) >= self.per_user:
            raise TooManyJobs(self.per_user)
        job = ExportJob(
            owner_id=owner_id, status=RUNNING, progress=0.0, filename=name, heartbeat_at=real_now()
        )
        session.add(job)
        session.flush()
        path = self.folder / str(job.id) / name
        job.file_path = str(path)
        session.flush()
        return job.id, path

    def _run(self, job_id: int, path: Path, work: Work, live: _Live) -> None:
        error: dict[str, str] | None = None  # language -> why it failed
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                work(lambda share: self._report(job_id, live, share), out)
        except ApiError as refused:  # e.g. a van removed meanwhile: said like the API says it
            error = {
                lang: message(refused.code, lang, refused.params) for lang in catalogue.LANGUAGES
            }
        except Exception:
            # Broad on purpose: the job thread's top level. Whatever the export raised is
            # logged with its traceback and the user sees the job as failed, never running.
            log.exception("export job %s failed", job_id)
            error = {lang: words(lang)["job_failed"] for lang in catalogue.LANGUAGES}
        finally:
            try:
                self._finish(job_id, path, error)
            finally:
                with self._lock:
                    self._live.pop(job_id, None)
                live.ended.set()

    def _report(self, job_id: int, live: _Live, share: float) -> None:
        """The work's progress callback (in the job's thread): kept in memory for this
        process's pages, written to the database now and then for the others."""
        live.fraction = max(live.fraction, min(1.0, share))
        now = time.monotonic()
        if now - live.written < PROGRESS_EVERY_S:
            return
        live.written = now
        try:
            with self._writing() as session:
                session.execute(
                    update(ExportJob)
                    .where(ExportJob.id == job_id, ExportJob.status == RUNNING)
                    .values(progress=live.fraction, heartbeat_at=real_now())
                )
        except SQLAlchemyError:
            log.warning("export job %s: progress not saved (database busy)", job_id)

    def _finish(self, job_id: int, path: Path, error: dict[str, str] | None) -> None:
        values: dict[str, object] = {"finished_at": clock.utcnow(), "heartbeat_at": real_now()}
        if error is None:
            values.update(status=DONE, progress=1.0)
        else:
            values.update(status=FAILED, file_path=None, **failure_columns(error))
        with self._writing() as session:
            job = session.get(ExportJob, job_id)
            changed = job is not None and job.status == RUNNING
            if job is not None and changed:
                for name, value in values.items():
                    setattr(job, name, value)
        if error is not None or not changed:  # failed, or marked interrupted meanwhile
            shutil.rmtree(path.parent, ignore_errors=True)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Until the job ends, if this process runs it."""
        with self._lock:
            live = self._live.get(job_id)
        if live is not None:
            live.ended.wait(timeout)

    # --- reading ----------------------------------------------------------------------------

    def get(self, job_id: int, owner_id: int) -> JobView | None:
        """The owner's job; None for another user's job, like one that does not exist. A
        finished job whose file has gone is marked so (« fichier supprimé le … »)."""
        with self.sessions() as session:
            job = session.get(ExportJob, job_id)
            if job is None or job.owner_id != owner_id:
                return None
            path = Path(job.file_path) if job.file_path else None
        if job.status == DONE and path is not None and not path.is_file():
            try:
                self._forget_file(job_id, path)
            except SQLAlchemyError:  # the database busy: said as removed, written next time
                log.warning("export job %s: its removed file not yet recorded", job_id)
                job.file_deleted_at, path = clock.utcnow(), None
            else:
                return self.get(job_id, owner_id)
        with self._lock:
            live = self._live.get(job_id)
        fraction = max(job.progress, live.fraction) if live else job.progress
        return JobView(
            id=job.id,
            owner_id=job.owner_id,
            filename=job.filename,
            state=job.status,
            fraction=1.0 if job.status == DONE else fraction,
            error=failure_texts(job) if job.status == FAILED else None,
            created_at=job.created_at,
            finished_at=job.finished_at,
            file_deleted_at=job.file_deleted_at,
            path=path if job.status == DONE else None,
        )

    # --- upkeep -----------------------------------------------------------------------------

    def sweep(self) -> None:
        """Beat this process's jobs' heart; mark interrupted the running jobs whose process
        is gone; remove the files kept longer than `keep`."""
        now, mine = real_now(), self._mine()
        with self._writing() as session:
            if mine:
                session.execute(
                    update(ExportJob).where(ExportJob.id.in_(mine)).values(heartbeat_at=now)
                )
            dead = session.scalars(
                select(ExportJob).where(
                    ExportJob.status == RUNNING,
                    ExportJob.heartbeat_at < now - timedelta(seconds=STALE_S),
                    ExportJob.id.not_in(mine),
                )
            ).all()
            for job in dead:
                self._interrupt(job)
        for job in dead:
            log.warning(
                "export job %s: its server stopped while it ran, marked interrupted", job.id
            )
        cutoff = clock.utcnow() - self.keep
        with self.sessions() as session:
            expired = session.execute(
                select(ExportJob.id, ExportJob.file_path).where(
                    ExportJob.status == DONE,
                    ExportJob.file_path.is_not(None),
                    ExportJob.finished_at < cutoff,
                )
            ).all()
        for job_id, file_path in expired:
            if file_path:
                self._forget_file(job_id, Path(file_path))

    def interrupt_mine(self) -> None:
        """The server is stopping: this process's running jobs will not finish."""
        mine = self._mine()
        if not mine:
            return
        with self._writing() as session:
            jobs = session.scalars(
                select(ExportJob).where(ExportJob.id.in_(mine), ExportJob.status == RUNNING)
            ).all()
            for job in jobs:
                self._interrupt(job)

    def _interrupt(self, job: ExportJob) -> None:
        if job.file_path:
            shutil.rmtree(Path(job.file_path).parent, ignore_errors=True)
        job.status = FAILED
        job.file_path = None
        job.finished_at = clock.utcnow()
        for name, value in failure_columns(
            {lang: words(lang)["job_interrupted"] for lang in catalogue.LANGUAGES}
        ).items():
            setattr(job, name, value)

    def _forget_file(self, job_id: int, path: Path) -> None:
        shutil.rmtree(path.parent, ignore_errors=True)
        with self._writing() as session:
            session.execute(
                update(ExportJob)
                .where(ExportJob.id == job_id, ExportJob.file_path.is_not(None))
                .values(file_path=None, file_deleted_at=clock.utcnow())
            )

    def _mine(self) -> list[int]:
        with self._lock:
            return list(self._live)

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self.sessions() as session:
            session.connection(execution_options={WRITE: True})  # SQLite: the write lock first
            yield session
            session.commit()


class Timer(threading.Thread):
    """Runs `ExportJobs.sweep` every HEARTBEAT_S; on stop, interrupts this process's jobs."""

    def __init__(self, jobs: ExportJobs, every_s: float = HEARTBEAT_S) -> None:
        super().__init__(name="export-jobs", daemon=True)
        self.jobs = jobs
        self.every_s = every_s
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.every_s):
            self._pass()

    def _pass(self) -> None:
        try:
            self.jobs.sweep()
        except Exception:
            # Broad on purpose: the timer thread's top loop (the database is down, a bug):
            # logged, tried again at the next pass; the thread never dies.
            log.exception("export jobs: pass failed")

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)
        try:
            self.jobs.interrupt_mine()
        except SQLAlchemyError:
            log.exception("export jobs: could not mark the running jobs interrupted")


_CREATE = threading.Lock()


def of(app: FastAPI) -> ExportJobs:
    """The app's jobs, made on first use (the timer makes them at start, see `start`)."""
    with _CREATE:
        jobs: ExportJobs | None = getattr(app.state, "export_jobs", None)
        if jobs is None:
            settings = app.state.settings
            folder = settings.records.export_dir or settings.data_dir / "exports"
            keep = timedelta(hours=settings.records.export_keep_hours)
            jobs = app.state.export_jobs = ExportJobs(app.state.sessionmaker, folder, keep)
        return jobs


def start(app: FastAPI) -> Timer:
    """At the app's start: one pass now (jobs a previous run left running are marked
    interrupted once stale, expired files go), then the timer."""
    timer = Timer(of(app))
    timer._pass()
    timer.start()
    return timer


def start_inspection(
    app: FastAPI,
    owner_id: int,
    viewer: Viewer,
    request: inspection.InspectionRequest,
    places: list[Location],
    session: Session | None = None,
) -> int:
    """Start the inspection export of `request` (checked: `inspection.locations`) as a job
    of `owner_id`, read with `viewer`'s rights; its id. TooManyJobs over the limit.
    `session`: the writing request's, see `ExportJobs.start`."""
    sessions, store = app.state.sessionmaker, app.state.reading_store

    def work(report: Report, out: IO[bytes]) -> None:
        with sessions() as session:  # the request's session ends with the request
            inspection.export(
                session, store, viewer, request, places, profiles(), out, fraction=report
            )

    return of(app).start(owner_id, inspection_filename(request), work, session)


def inspection_filename(request: inspection.InspectionRequest) -> str:
    """« inspection-20260310-20260311.zip »: the first and the last day, on the site's clock."""
    first = request.start.astimezone(clock.zone())
    last = (request.end - timedelta(hours=12)).astimezone(clock.zone())
    return f"inspection-{first:%Y%m%d}-{last:%Y%m%d}.zip"
