"""What the documents need from the settings, set once per process (as coldchain/clock.py
is): the server's public address, printed in the verification QR code of each sealed
delivery record (server/records/verification.py), and the retention period the HACCP plan
states (server/records/haccp_plan.py). The app factory (server/app.py) and the `coldchain
records` commands call `configure(settings)`; until then, the settings' defaults."""

from __future__ import annotations

from dataclasses import dataclass

from coldchain.settings import Settings


@dataclass(frozen=True)
class DocumentSettings:
    public_url: str  # no trailing slash
    retention_days: int


def _of(settings: Settings) -> DocumentSettings:
    address = settings.server.public_url or settings.alerting.public_url
    return DocumentSettings(address.rstrip("/"), settings.records.retention_days)


_current = _of(Settings.model_construct())


def configure(settings: Settings) -> None:
    """Called at the start of each process that renders documents, with its settings."""
    global _current
    _current = _of(settings)


def current() -> DocumentSettings:
    return _current
