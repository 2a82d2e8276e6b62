"""Alerts raised without the broker: the real rules engine judges readings placed by the
alert worker's own code (Places), and the worker's recording writes them (record_events).
Used by tests/alerting (the lifecycle through the API) and tests/pages (the pages of it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts.engine import Engine
from server.alerting.event_writer import record_events
from server.alerting.places import Places
from server.core.models import utcnow
from server.core.models.alerts import Alert
from tests.alerting.support import Site, readings


def raise_alert(site: Site, values: list[float], minutes_ago: int) -> int:
    """The van's probe read `values`, a minute apart, from `minutes_ago`: judged now in
    zone « frais » of van VA; the id of the newest alert."""
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    with site.app.state.sessionmaker() as session:
        places = Places.load(session, "ambient", now_ms)
        engine = Engine()
        for key, config in places.configs.items():
            engine.configure(config, now_ms, places.lots.get(key, []))
        batch = readings(now - timedelta(minutes=minutes_ago), values)
        placed = [p for p in (places.place(r) for r in batch) if p is not None]
        assert {p.location_key for p in placed} == {f"zone-{site.ids['VA_frais']}"}
        result = engine.ingest(placed[0].location_key, [p.reading for p in placed], now_ms)
        assert not result.errors
        record_events(session, result.events, site.settings.alerting, utcnow())
        session.commit()
        alert_id = session.scalar(select(Alert.id).order_by(Alert.id.desc()))
        assert alert_id is not None
        return int(alert_id)
