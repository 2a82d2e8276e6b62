"""Inspection exports built in the background for the pages (server/pages/inspection_pages.py).

A months-long export takes a while: the page starts a job (one thread) that writes the ZIP
into its own temporary folder and reports how far it is; the browser polls the job's
status, then downloads the file. A job belongs to the user who started it (anyone else is
told it does not exist), its folder goes away once downloaded or an hour after it
finished, and a user may run only a few at once (each one reads the whole period).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import FastAPI

from server.core.errors import ApiError, message

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
KEEP_S = 3600.0  # a finished job's file is kept this long if nobody downloads it
PER_USER = 2  # exports one user may have running at once


@dataclass
class Job:
    id: str
    user_id: int
    folder: Path
    filename: str
    started: float  # time.monotonic()
    fraction: float = 0.0
    state: str = RUNNING
    error: tuple[str, str] | None = None  # (French, English)
    finished: float | None = None
    ended: threading.Event = field(default_factory=threading.Event)

    @property
    def path(self) -> Path:
        return self.folder / self.filename

    def report(self, fraction: float) -> None:
        """The export's progress callback (called from the job's thread)."""
        self.fraction = max(self.fraction, min(1.0, fraction))


class TooManyJobs(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


Work = Callable[[Job, IO[bytes]], None]


class Jobs:
    """The jobs of one app (kept in memory: a restart forgets them, the user starts again)."""

    def __init__(self, per_user: int = PER_USER, keep_s: float = KEEP_S) -> None:
        self.per_user = per_user
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def start(self, user_id: int, filename: str, work: Work) -> Job:
        """Run `work` in a thread, writing to the job's file; TooManyJobs over the limit."""
        with self._lock:
            self._sweep()
            if self._running(user_id) >= self.per_user:
                raise TooManyJobs(self.per_user)
            folder = Path(tempfile.mkdtemp(prefix="coldchain-inspection-"))
            job = Job(secrets.token_urlsafe(18), user_id, folder, filename, time.monotonic())
            self._jobs[job.id] = job
        threading.Thread(
            target=self._run, args=(job, work), name=f"inspection-{job.id[:8]}", daemon=True
        ).start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        try:
            with job.path.open("wb") as out:
                work(job, out)
        except ApiError as refused:  # e.g. a van removed meanwhile: said like the API says it
            job.error = (
                message(refused.code, "fr", refused.params),
                message(refused.code, "en", refused.params),
            )
        except Exception:
            # Broad on purpose: the job thread's top level. Whatever the export raised is
            # logged with its traceback and the user sees the job as failed, never running.
            log.exception("inspection export %s failed", job.id)
            job.error = (
                "L'export a échoué. Réessayez ; si cela se reproduit, prévenez l'administrateur.",
                "The export failed. Try again; if it happens again, tell the administrator.",
            )
        finally:
            job.finished = time.monotonic()
            # Set last: a job seen as done has its file complete and closed.
            job.state = FAILED if job.error else DONE
            if job.error:
                shutil.rmtree(job.folder, ignore_errors=True)
            job.ended.set()

    def get(self, job_id: str, user_id: int) -> Job | None:
        """The user's own job; None for another user's job, like one that does not exist."""
        with self._lock:
            self._sweep()
            job = self._jobs.get(job_id)
        return job if job is not None and job.user_id == user_id else None

    def _running(self, user_id: int) -> int:
        return sum(1 for j in self._jobs.values() if j.user_id == user_id and j.state == RUNNING)

    def discard(self, job: Job) -> None:
        """Forget the job and delete its file (after the download was sent)."""
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def _sweep(self) -> None:
        now = time.monotonic()
        for job in list(self._jobs.values()):
            if job.finished is not None and now - job.finished > self.keep_s:
                del self._jobs[job.id]
                shutil.rmtree(job.folder, ignore_errors=True)


_CREATE = threading.Lock()


def jobs_of(app: FastAPI) -> Jobs:
    """The app's job registry, made on first use (the pages are mounted, not app.py's concern)."""
    with _CREATE:
        jobs: Jobs | None = getattr(app.state, "inspection_jobs", None)
        if jobs is None:
            jobs = app.state.inspection_jobs = Jobs()
        return jobs
