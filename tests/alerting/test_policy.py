"""The alert policy on the server's side (docs/alerts.md "Alert policy", docs/alert-lifecycle.md
"Notification policy"): what each kind and severity shows, rings, e-mails and escalates;
a legal stream writes nothing; the row always carries the engine's figures, `refreshed`
events updating it without a history entry or a message.

The real rules engine judges readings placed by the worker's own code (Places) and the
worker's recording writes them (record_events), as in test_lifecycle.py; no broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from alerts.config import LocationConfig, LocationKind
from alerts.engine import Engine
from alerts.events import AlertEvent, EventType, figures, record_fields
from alerts.limits import Lot
from coldchain.protocol import Reading
from server.alerting.event_writer import record_events
from server.alerting.outbox import POLICY, telling
from server.alerting.places import Places
from server.core.models.alerts import Alert, AlertEntry, Notification
from tests.alerting.support import PROBE, Inbox, Site, build_site, settings_for
from tests.alerts.test_properties import legal_streams
from tests.harness.servers import free_port

MIN = 60_000


@pytest.fixture
def site(tmp_path: Path, smtp: tuple[int, Inbox]) -> Iterator[Site]:
    settings = settings_for(tmp_path, free_port(), smtp[0])
    yield from build_site(settings)


@dataclass
class Judge:
    """The worker's judging path, at a wall clock `now` of our choosing."""

    site: Site
    engine: Engine
    places: Places
    key: str
    start: datetime

    def __call__(self, readings: list[Reading], now: datetime) -> list[AlertEvent]:
        placed = [p for p in (self.places.place(r) for r in readings) if p is not None]
        result = self.engine.ingest(self.key, [p.reading for p in placed], ms(now))
        assert not result.errors
        with self.site.app.state.sessionmaker() as session:
            record_events(session, result.events, self.site.settings.alerting, now)
            session.commit()
        return result.events

    def silence(self, now: datetime) -> list[AlertEvent]:
        events = self.engine.check_silence(ms(now))
        with self.site.app.state.sessionmaker() as session:
            record_events(session, events, self.site.settings.alerting, now)
            session.commit()
        return events

    def reading(self, minute: float, value: float | None, channel: str = "air") -> Reading:
        fault = "disconnected" if value is None else None
        t = ms(self.start) + int(minute * MIN)
        return Reading(PROBE, channel, t, int(minute * 10) + 1, value, fault)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def judge_in(site: Site, lots: list[Lot] | None = None) -> Judge:
    """Zone « frais » of van VA, from 25 min ago (the site's lot on board since 30 min ago);
    `lots`: what is on board instead of the site's own lot."""
    start = site.now - timedelta(minutes=25)
    with site.app.state.sessionmaker() as session:
        places = Places.load(session, "ambient", ms(start))
    key = f"zone-{site.ids['VA_frais']}"
    engine = Engine()
    engine.configure(places.configs[key], ms(start), places.lots[key] if lots is None else lots)
    return Judge(site, engine, places, key, start)


def sent(site: Site) -> list[Notification]:
    with site.app.state.sessionmaker() as session:
        found = list(session.scalars(select(Notification).order_by(Notification.id)))
        session.expunge_all()
        return found


def the_alert(site: Site, kind: str) -> Alert:
    with site.app.state.sessionmaker() as session:
        alert: Alert = session.scalars(select(Alert).where(Alert.kind == kind)).one()
        session.expunge_all()
        return alert


def at(judge: Judge, minute: float) -> datetime:
    return judge.start + timedelta(minutes=minute, seconds=1)


def test_the_policy_table_covers_every_kind_and_severity_the_engine_raises() -> None:
    """Temperature warnings show silently; critical rings, e-mails, escalates; and the
    others as docs/alert-lifecycle.md says."""
    raised = {
        ("temperature_excursion", "warning"),
        ("temperature_excursion", "critical"),
        ("door_open", "warning"),
        ("door_open", "critical"),
        ("sensor_fault", "warning"),
        ("probe_offline", "warning"),
        ("probe_offline", "critical"),
        ("calibration_overdue", "warning"),
    }
    assert set(POLICY) == raised
    warning = telling("temperature_excursion", "warning")
    assert warning.display and not (warning.ring or warning.email or warning.escalate)
    critical = telling("temperature_excursion", "critical")
    assert critical.display and critical.ring and critical.email and critical.escalate
    nothing = telling("evaluation_suspended", "info")
    assert not (nothing.display or nothing.ring or nothing.email or nothing.escalate)
    assert telling("temperature_excursion", "tolerated") == nothing  # never raised now


def test_a_warning_shows_silently_then_critical_rings_e_mails_and_escalates(site: Site) -> None:
    """Label 6 °C: 6.5 °C is beyond it, a warning at once on the display only; 15 min later
    critical: it rings, level 0 is e-mailed and the escalation is armed."""
    judge = judge_in(site)
    judge([judge.reading(m, 6.5) for m in range(3)], at(judge, 2))
    alert = the_alert(site, "temperature_excursion")
    assert (alert.severity, alert.next_escalation_at) == ("warning", None)
    assert [(n.channel, n.payload["on"], n.payload.get("ring")) for n in sent(site)] == [
        ("probe_alarm", True, False)
    ]
    judge([judge.reading(m, 6.5) for m in range(3, 16)], at(judge, 15))
    alert = the_alert(site, "temperature_excursion")
    assert alert.severity == "critical" and alert.next_escalation_at is not None
    after = sent(site)[1:]
    assert [n.payload for n in after if n.channel == "probe_alarm"] == [
        {"on": True, "alert": alert.uid, "text": after[0].payload["text"]}
    ]
    assert {n.target for n in after if n.channel == "email"} == {
        "driver_a@example.be",
        "producer1@example.be",
    }


def test_late_readings_that_lower_a_critical_alert_stop_the_ringing_and_escalation(
    site: Site,
) -> None:
    """Two readings at 7 °C 26 minutes apart bridge a gap as critical; the gap's readings
    arrive: two warnings, the first one the same alert, lowered; the buzzer stops."""
    judge = judge_in(site)
    judge([judge.reading(0, 2.0), judge.reading(5, 7.0)], at(judge, 5))
    judge([judge.reading(31, 7.0)], at(judge, 31))
    assert the_alert(site, "temperature_excursion").severity == "critical"
    judge([judge.reading(m, 2.0) for m in range(6, 31)], at(judge, 40))
    with site.app.state.sessionmaker() as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id)))
    assert [a.severity for a in alerts] == ["warning", "warning"]
    assert all(a.next_escalation_at is None for a in alerts)
    last = [n for n in sent(site) if n.channel == "probe_alarm"][-1]
    assert last.payload["on"] is False or last.payload.get("ring") is False


def test_doors_ring_at_once_and_escalate_when_critical(site: Site) -> None:
    judge = judge_in(site)
    judge([judge.reading(0, 1.0, "door")], at(judge, 0))
    judge([judge.reading(m, 3.0) for m in range(1, 7)], at(judge, 6))
    door = the_alert(site, "door_open")
    assert door.severity == "warning" and door.next_escalation_at is None
    alarms = [n for n in sent(site) if n.channel == "probe_alarm"]
    assert alarms and alarms[-1].payload["on"] is True and "ring" not in alarms[-1].payload
    assert not [n for n in sent(site) if n.channel == "email"]
    judge([judge.reading(m, 3.0) for m in range(7, 21)], at(judge, 20))
    door = the_alert(site, "door_open")
    assert door.severity == "critical" and door.next_escalation_at is not None
    assert [n for n in sent(site) if n.channel == "email"]


def test_a_sensor_fault_shows_and_e_mails_without_ringing(site: Site) -> None:
    judge = judge_in(site)
    judge([judge.reading(0, 3.0), judge.reading(1, None)], at(judge, 1))
    fault = the_alert(site, "sensor_fault")
    assert fault.severity == "warning" and fault.next_escalation_at is None
    channels = [(n.channel, n.payload.get("ring")) for n in sent(site)]
    assert ("probe_alarm", False) in channels and ("email", None) in channels


def test_a_silent_probe_is_a_page_status_for_an_hour_then_e_mailed_and_escalated(
    site: Site,
) -> None:
    judge = judge_in(site)
    judge([judge.reading(0, 3.0)], at(judge, 0))
    judge.silence(at(judge, 12))
    assert the_alert(site, "probe_offline").severity == "warning"
    assert sent(site) == []  # a dead zone is normal: nothing rings, nobody is e-mailed
    judge.silence(at(judge, 75))
    offline = the_alert(site, "probe_offline")
    assert offline.severity == "critical" and offline.next_escalation_at is not None
    assert {n.channel for n in sent(site)} == {"email"}


def test_refreshed_figures_update_the_row_without_history_or_message(site: Site) -> None:
    """Every reading of an open excursion counts: the row follows the engine, quietly."""
    judge = judge_in(site)
    judge([judge.reading(m, 12.0) for m in range(2)], at(judge, 1))
    with site.app.state.sessionmaker() as session:
        entries = session.scalar(select(func.count(AlertEntry.id)))
    messages = len(sent(site))
    events = judge([judge.reading(2, 12.0)], at(judge, 2))
    assert [e.event for e in events] == [EventType.REFRESHED]
    alert = the_alert(site, "temperature_excursion")
    [record] = judge.engine.records(judge.key)
    assert (alert.n_readings, ms(alert.last_out_at)) == (3, judge.reading(2, 12.0).time_ms)
    assert figures(alert.record) == figures(record_fields(record))
    with site.app.state.sessionmaker() as session:
        assert session.scalar(select(func.count(AlertEntry.id))) == entries
    assert len(sent(site)) == messages


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(legal_streams())
def test_a_legal_stream_writes_no_alert_and_no_notification(site: Site, stream) -> None:
    """Any product profile, a random stream inside its legal limit (label and transport
    tolerance included), through the worker's own judging and recording: nothing stored,
    nothing to send."""
    category, kind, label, values = stream
    lots = [Lot("L", category, 0, None, label)]
    judge = judge_in(site, lots)
    if kind is LocationKind.COLD_ROOM:  # the same zone judged as a cold room of that category
        config = LocationConfig(judge.key, kind, "Chambre", category, label_max_c=label)
        judge.engine = Engine()
        judge.engine.configure(config, ms(judge.start))
    for minute, value in enumerate(values):
        assert judge([judge.reading(minute, value, "product")], at(judge, minute)) == []
    with site.app.state.sessionmaker() as session:
        assert session.scalar(select(func.count(Alert.id))) == 0
        assert session.scalar(select(func.count(Notification.id))) == 0
