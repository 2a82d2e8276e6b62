"""Readings that contradict a stored one, for the admin (« Mesures en conflit » on /admin).

First write wins (docs/storage.md#first-write-wins): a reading for a (probe, channel, time)
already stored with other fields never replaces it; the store keeps it aside as a conflict
(SQLite `reading_conflict`, InfluxDB measurement `reading_conflict`). A working probe never
sends two values for one instant, so each conflict means the probe is broken or someone
publishes with its broker password: the admin who manages the probe must see it.

Only the probes the viewer sees (server/core/access.py `visible_probes`, the rule of the
probe list on the same page): another cooperative's probes never appear."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import urllib3
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.protocol import CHANNELS, Reading
from coldchain.readingstore.base import ReadingStore
from server.core.access import Viewer, visible_probes
from server.core.models import Probe
from server.domain.place_readings import from_ms

log = logging.getLogger(__name__)

LIMIT = 100  # the newest conflicts shown: enough to see a pattern, a bounded page


@dataclass(frozen=True)
class Shown:
    """One conflict as the admin reads it: which probe (its row: id and label), the instant,
    the reading kept and the one refused, when the refused one arrived."""

    probe: Probe
    channel: str
    unit: str  # the channel's unit (coldchain.protocol CHANNELS), "" for a door
    at: datetime  # the reading's device time
    kept: Reading  # stored first: the evidence
    refused: Reading
    received: datetime


@dataclass(frozen=True)
class Recent:
    shown: list[Shown]  # newest received first
    more: bool  # older ones left out (beyond the limit)


def recent(
    session: Session, store: ReadingStore, viewer: Viewer, limit: int = LIMIT
) -> Recent | None:
    """The newest `limit` conflicts of the viewer's probes, newest received first; None when
    the reading store cannot answer (the admin page stays usable without it)."""
    probes = {p.probe_id: p for p in session.scalars(select(Probe).where(visible_probes(viewer)))}
    if not probes:
        return Recent([], more=False)
    try:
        conflicts = store.conflicts(sorted(probes), limit + 1)  # one more: are there others?
    except (urllib3.exceptions.HTTPError, RuntimeError, sqlite3.Error, OSError):
        # InfluxDB down or refusing (urllib3 after its retries; the InfluxQL store's
        # RuntimeError), SQLite locked or damaged: the rest of /admin must still open.
        log.exception("reading conflicts could not be read from the reading store")
        return None
    shown = [
        Shown(
            probe=probes[c.new.probe_id],
            channel=c.new.channel,
            unit=CHANNELS[c.new.channel].unit if c.new.channel in CHANNELS else "",
            at=from_ms(c.new.time_ms),
            kept=c.stored,
            refused=c.new,
            received=from_ms(c.received_ms),
        )
        for c in conflicts
        if c.new.probe_id in probes  # asked for those only; never another cooperative's
    ]
    return Recent(shown[:limit], more=len(shown) > limit)
