"""Two alert workers on PostgreSQL and a real Mosquitto: one judges, the other stands by;
killed (-9) mid-excursion, the first is replaced by the second within the lease, which
continues the same alert from the saved state and the broker session: nothing missed,
nothing raised twice (server/alerting/lease.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.alerting.lease import AnotherWorkerRunning, Lease, this_process
from server.core.models.alerts import Alert, AlertEntry
from tests.alerting.support import Inbox, Probe, Site, build_site, readings, settings_for, wait_for
from tests.harness.app import fresh_database
from tests.harness.servers import Mosquitto

REPO = Path(__file__).resolve().parents[2]
LEASE_S = 6.0


@pytest.fixture
def pg_site(
    request: pytest.FixtureRequest, tmp_path: Path, mosquitto: Mosquitto,
    smtp: tuple[int, Inbox],
) -> Iterator[Site]:  # fmt: skip
    databases = fresh_database(request, tmp_path, "postgresql")
    url = next(databases)
    settings = settings_for(tmp_path, mosquitto.port, smtp[0], database_url=url,
                            escalation_after_min=60)  # fmt: skip
    yield from build_site(settings)
    for _ in databases:  # its cleanup: the test database dropped
        pass


def start_worker(site: Site, mosquitto: Mosquitto, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COLDCHAIN_SERVER__DATABASE_URL": site.settings.server.database_url,
        "COLDCHAIN_MQTT__PORT": str(mosquitto.port),
        "COLDCHAIN_MQTT__MANAGED": "false",
        "COLDCHAIN_ALERTING__CLIENT_ID": "alerts-standby-test",  # the same for both
        "COLDCHAIN_ALERTING__LEASE_S": str(LEASE_S),
        "COLDCHAIN_ALERTING__STATE_SAVE_S": "0.3",
        "COLDCHAIN_ALERTING__NOTIFY_POLL_S": "0.2",
        "COLDCHAIN_ALERTING__CALIBRATION_CHECK_S": "0",
        "COLDCHAIN_DATA_DIR": str(log.parent),
    }
    env.pop("COLDCHAIN_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "coldchain.cli", "alert-worker"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log.open("ab"),
    )  # fmt: skip


def first_line(proc: subprocess.Popen[bytes], log: Path) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert line, log.read_text()[-3000:]
    return line


def test_the_standby_takes_over_within_the_lease_and_continues_the_alert(
    pg_site: Site, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = pg_site
    log_a, log_b = tmp_path / "worker-a.log", tmp_path / "worker-b.log"
    probe = Probe(mosquitto.port)
    sessions: sessionmaker[Session] = site.app.state.sessionmaker
    now = datetime.now(UTC)
    active = start_worker(site, mosquitto, log_a)
    standby: subprocess.Popen[bytes] | None = None
    try:
        assert "alert worker ready" in first_line(active, log_a)
        standby = start_worker(site, mosquitto, log_b)
        assert "standing by" in first_line(standby, log_b)  # it waits: it does not connect
        probe.send(readings(now - timedelta(minutes=25), [12.0] * 6, seq0=1))

        def opened() -> Alert | None:
            with sessions() as session:
                return session.scalar(select(Alert))

        wait_for(opened, 20)
        active.send_signal(signal.SIGKILL)  # no save, no ack, no lease released
        killed = time.monotonic()
        active.wait(10)
        # Back inside the limit while nobody judges: queued in the shared broker session.
        probe.send(readings(now - timedelta(minutes=19), [2.0] * 20, seq0=7))
        assert "alert worker ready" in first_line(standby, log_b)
        took_over_s = time.monotonic() - killed
        assert took_over_s < 30, took_over_s

        def resolved() -> Alert | None:
            with sessions() as session:
                return session.scalar(select(Alert).where(Alert.engine_status == "closed"))

        wait_for(resolved, 30)
        with sessions() as session:
            alerts = list(session.scalars(select(Alert)))
            kinds = [e.kind for e in session.scalars(select(AlertEntry).order_by(AlertEntry.id))]
        assert len(alerts) == 1, [a.uid for a in alerts]
        assert kinds.count("opened") == 1, kinds
        print(f"standby took over {took_over_s:.1f} s after the kill (lease {LEASE_S:g} s)")
    finally:
        for proc in (active, standby):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
        probe.close()


def test_a_lease_from_another_machine_is_taken_only_once_it_expired(pg_site: Site) -> None:
    """The path of a worker on another machine that died: no process to look at, the lease
    runs out. A live holder with another client id is a configuration mistake, refused."""
    sessions: sessionmaker[Session] = pg_site.app.state.sessionmaker
    other = Lease("autre-machine:4242:abcdef", "alerts-standby-test", ttl_s=1.0)
    here = Lease(this_process(), "alerts-standby-test", ttl_s=1.0)
    stranger = Lease(this_process(), "another-client-id", ttl_s=1.0)
    with sessions() as session:
        assert other.take(session) is None
        session.commit()
    with sessions() as session:
        holder = here.take(session)
        assert holder is not None and holder.holder == "autre-machine:4242:abcdef"
        with pytest.raises(AnotherWorkerRunning):
            stranger.take(session)
        session.rollback()
    time.sleep(1.2)
    with sessions() as session:
        assert here.take(session) is None  # expired: ours now
        session.commit()
    with sessions() as session:
        assert not other.held(session)  # the old holder, back, must stop
        assert here.held(session)
        here.release(session)
        session.commit()
    with sessions() as session:
        assert other.take(session) is None  # released: free at once
        session.commit()
