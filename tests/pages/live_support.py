"""Readings for the page tests as the alert worker would see them, and the server's clock
moved on: used by test_live_views.py and test_alert_review.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.engine import Engine
from alerts.events import AlertEvent
from coldchain import clock
from coldchain.protocol import Reading
from server.alerting.event_writer import record_events
from server.alerting.places import Places
from server.core.models import utcnow
from server.core.models.alerts import Alert
from server.domain.place_readings import to_ms
from tests.alerting.support import PROBE, Site

MIN = timedelta(minutes=1)


class Shifted:
    """The server's clock, stopped at the test's start and moved only by `offset` (everything
    in this process reads coldchain.clock: the pages, the API, the recording). Stopped, so
    "depuis 8 min" or "données fraîches" do not depend on how long a loaded machine takes
    between two steps (seen in CI: a reading already 2 min old when the page was read)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.start = self.offset = timedelta(0)  # start: where a test's offsets count from
        stopped_at = float(int(clock.now_s()))
        monkeypatch.setattr(clock, "now_s", lambda: stopped_at + self.offset.total_seconds())

    def now(self) -> datetime:
        return clock.utcnow()


class Van:
    """The van's probe as the alert worker sees it: readings stored, placed, judged by one
    rules engine kept across batches, the events recorded."""

    def __init__(self, site: Site, time: Shifted) -> None:
        self.site, self.time, self.seq = site, time, 0
        self.engine = Engine()
        self.refresh()

    def refresh(self) -> None:
        """The registry again (lots on board change at a handover), as the worker does."""
        now_ms = to_ms(self.time.now())
        with self.site.app.state.sessionmaker() as session:
            self.places = Places.load(session, "ambient", now_ms)
        for key, config in self.places.configs.items():
            self.record(self.engine.configure(config, now_ms, self.places.lots.get(key, [])))

    def send(self, start: datetime, values: list[float], channel: str = "air") -> None:
        batch = []
        for i, value in enumerate(values):
            self.seq += 1
            at = to_ms(start + i * MIN)
            batch.append(Reading(PROBE, channel, at, self.seq, value))
        self.site.app.state.reading_store.write(batch)
        placed = [p for p in map(self.places.place, batch) if p is not None]
        result = self.engine.ingest(
            placed[0].location_key, [p.reading for p in placed], to_ms(self.time.now())
        )
        assert not result.errors
        self.record(result.events)

    def door(self, at: datetime, is_open: bool) -> None:
        self.send(at, [1.0 if is_open else 0.0], "door")

    def silence(self) -> None:
        self.record(self.engine.check_silence(to_ms(self.time.now())))

    def record(self, events: list[AlertEvent]) -> None:
        if not events:
            return
        with self.site.app.state.sessionmaker() as session:
            record_events(session, events, self.site.settings.alerting, utcnow())
            session.commit()

    def alerts(self) -> list[Alert]:
        """This probe's alerts (the cold room's probe, silent here, has its own)."""
        with self.site.app.state.sessionmaker() as session:
            return list(
                session.scalars(select(Alert).where(Alert.probe_id == PROBE).order_by(Alert.id))
            )
