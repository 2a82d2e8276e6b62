"""Exports prepared in the background for one user (server/records/export_jobs.py): what
the job page shows, kept in the database so a server restart loses none of them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey, utcnow


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # refused, crashed, or interrupted by a server stop: `error_fr` says which


class ExportJob(IdKey, Base):
    """One export: who asked (`owner_id`, the only one who may see it), how far it is, its
    file while it is kept, and why it failed.

    Times people read (`created_at`, `finished_at`, `file_deleted_at`) are the system clock's
    (coldchain/clock.py, the demo's fast clock included); `heartbeat_at` is the real wall
    clock, written by the process running the job while it runs: a running job whose
    heartbeat stopped belongs to a process that is gone."""

    __tablename__ = "export_job"

    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default=JobStatus.RUNNING)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0.0 .. 1.0
    filename: Mapped[str] = mapped_column(String(200))  # the name the download gets
    file_path: Mapped[str | None] = mapped_column(String(1000))  # absolute; None once removed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime]
    file_deleted_at: Mapped[datetime | None]
    error_fr: Mapped[str | None] = mapped_column(Text)
    error_en: Mapped[str | None] = mapped_column(Text)
    # The reason in every language of the catalogues (migration 0011): language -> text.
    # Jobs that failed before it have only error_fr and error_en.
    error_texts: Mapped[dict[str, str] | None] = mapped_column(JSON)
