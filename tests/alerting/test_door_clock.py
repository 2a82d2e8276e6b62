"""A door left open while the probe says nothing more: the worker's periodic check
(`Engine.check_doors`, with the silence check) raises the door alert at its delay and the
van's alarm rings. Real Mosquitto, real SQLite through the app factory, the real worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from coldchain.protocol import Reading
from server.core.models.alerts import Alert
from tests.alerting.support import (
    PROBE,
    Inbox,
    Probe,
    Site,
    build_site,
    readings,
    running_worker,
    settings_for,
    wait_for,
)
from tests.harness.servers import Mosquitto

DELAY_MS = 5 * 60_000  # door_open_max_min, the default of every place
LEAD_S = 4  # the door reaches its delay this long after the probe's last message


@pytest.fixture
def door_site(tmp_path: Path, mosquitto: Mosquitto, smtp: tuple[int, Inbox]) -> Iterator[Site]:
    settings = settings_for(tmp_path, mosquitto.port, smtp[0], silence_check_s=0.2)
    yield from build_site(settings)


def door_alerts(site: Site) -> list[Alert]:
    with site.app.state.sessionmaker() as session:
        found = list(session.scalars(select(Alert).where(Alert.kind == "door_open")))
        session.expunge_all()
        return found


def test_a_door_left_open_rings_at_its_delay_with_no_further_message(
    door_site: Site, mosquitto: Mosquitto
) -> None:
    site = door_site
    with closing(Probe(mosquitto.port)) as probe, running_worker(site) as worker:
        now = datetime.now(UTC)
        opened = now - timedelta(milliseconds=DELAY_MS) + timedelta(seconds=LEAD_S)
        opened_ms = int(opened.timestamp() * 1000)
        # Air every minute (legal), the door opened 4 min 56 s ago: then the probe is quiet.
        air = readings(now - timedelta(minutes=4), [3.0] * 5)
        probe.send([*air, Reading(PROBE, "door", opened_ms, 100, 1.0)])
        wait_for(lambda: worker.counters["messages"] >= 1)
        assert door_alerts(site) == []  # open 4 min 56 s so far: nothing yet
        sent_at = time.monotonic()

        [alert] = wait_for(lambda: door_alerts(site))
        waited = time.monotonic() - sent_at
        assert LEAD_S - 1.5 < waited < LEAD_S + 3  # at its delay, not at the next message
        assert alert.severity == "warning"
        record = alert.record
        assert (record["start_ms"], record["alert_at_ms"]) == (opened_ms, opened_ms + DELAY_MS)
        assert record["detected_late"] is False
        alarm = wait_for(lambda: [a for a in probe.alarms if a["on"]])[0]
        assert alarm["alert"] == alert.uid and alarm["text"].startswith("PORTE OUVERTE")
        assert "ring" not in alarm  # an open door rings from its 5 minutes (outbox.POLICY)
        time.sleep(1.0)
        assert len(door_alerts(site)) == 1  # raised once
