"""Kill -9 the worker (a real `coldchain alert-worker` process) during an open excursion,
restart it: the excursion continues as one alert, resolved once, never raised twice. The
engine's state is restored from its rows (one per part: server/alerting/db.py); a state
saved in one document by an earlier version is read once and saved in rows from then on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.alerting.db import PART_PREFIX
from server.core.models.alerts import Alert, AlertEntry, WorkerState
from tests.alerting.support import Probe, Site, readings, running_worker, wait_for
from tests.harness.servers import Mosquitto

REPO = Path(__file__).resolve().parents[2]


def start_worker(site: Site, mosquitto: Mosquitto, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COLDCHAIN_SERVER__DATABASE_URL": site.settings.server.database_url,
        "COLDCHAIN_MQTT__PORT": str(mosquitto.port),
        "COLDCHAIN_MQTT__MANAGED": "false",
        "COLDCHAIN_ALERTING__CLIENT_ID": "alerts-restart-test",
        "COLDCHAIN_ALERTING__STATE_SAVE_S": "0.3",
        "COLDCHAIN_ALERTING__NOTIFY_POLL_S": "0.2",
        "COLDCHAIN_ALERTING__CALIBRATION_CHECK_S": "0",  # as tests/alerting/support.py
    }
    env.pop("COLDCHAIN_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "coldchain.cli", "alert-worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once subscribed
    assert b"alert worker ready" in line, log.read_text()[-3000:]
    return proc


def test_kill_during_excursion_then_restart_continues_one_alert(
    site: Site, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    probe = Probe(mosquitto.port)
    sessions: sessionmaker[Session] = site.app.state.sessionmaker
    now = datetime.now(UTC)
    proc = start_worker(site, mosquitto, log)
    try:
        probe.send(readings(now - timedelta(minutes=25), [12.0] * 6, seq0=1))

        def opened() -> Alert | None:
            with sessions() as session:
                return session.scalar(select(Alert))

        wait_for(opened, 20)

        def saved_mid_episode() -> list[str] | None:
            """The open excursion's stream saved in rows (the worker saves every 0.3 s)."""
            with sessions() as session:
                names = list(session.scalars(select(WorkerState.name)))
                streams = [
                    stream["machine"]["records"][0]  # the too-warm episode
                    for state in session.scalars(
                        select(WorkerState.state).where(WorkerState.name.like("engine/pr/%"))
                    )
                    for stream in state["streams"].values()
                ]
            return names if any(r is not None for r in streams) else None

        names = wait_for(saved_mid_episode, 20)
        assert "engine" not in names and f"{PART_PREFIX}meta" in names
        proc.send_signal(signal.SIGKILL)  # no chance to save or acknowledge anything more
        proc.wait(10)
        # Back inside the limit while the worker is down: queued in its broker session.
        probe.send(readings(now - timedelta(minutes=19), [2.0] * 20, seq0=7))
        proc = start_worker(site, mosquitto, log)

        def resolved() -> Alert | None:
            with sessions() as session:
                alert = session.scalar(select(Alert).where(Alert.engine_status == "closed"))
                return alert

        alert = wait_for(resolved, 30)
        with sessions() as session:
            alerts = list(session.scalars(select(Alert)))
            kinds = [e.kind for e in session.scalars(select(AlertEntry).order_by(AlertEntry.id))]
        assert len(alerts) == 1, [a.uid for a in alerts]
        assert kinds.count("opened") == 1, kinds
        assert kinds.count("resolved") == 1, kinds
        assert alert.start_at == now.replace(
            microsecond=now.microsecond // 1000 * 1000
        ) - timedelta(minutes=25)
        assert alert.end_at is not None
        assert alert.record["n_readings"] == 6
    finally:
        proc.kill()
        proc.wait(10)
        probe.close()


def test_a_second_worker_with_another_client_id_is_refused(
    site: Site, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Two workers would split a location's readings between them and overwrite each
    other's state: the second one refuses to start, naming the first."""
    log = tmp_path / "worker.log"
    first = start_worker(site, mosquitto, log)
    try:
        env = {
            **os.environ,
            "COLDCHAIN_SERVER__DATABASE_URL": site.settings.server.database_url,
            "COLDCHAIN_MQTT__PORT": str(mosquitto.port),
            "COLDCHAIN_ALERTING__CLIENT_ID": "alerts-second",
        }
        env.pop("COLDCHAIN_CONFIG", None)
        second = subprocess.run(
            [sys.executable, "-m", "coldchain.cli", "alert-worker"],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert b"alerts-restart-test" in second.stderr
    finally:
        first.kill()
        first.wait(10)


def test_a_state_saved_in_one_document_is_read_once_then_saved_in_rows(site: Site) -> None:
    """Version 2 kept the whole state in the row "engine": read at start, then replaced by
    one row per part. (Its format: tests/alerts/test_state_compat.py; here its counters.)"""
    sessions: sessionmaker[Session] = site.app.state.sessionmaker
    document = {"version": 2, "locations": [], "counters": {"readings": 200}}
    with sessions() as session:
        session.add(WorkerState(name="engine", state=json.loads(json.dumps(document))))
        session.commit()
    with running_worker(site) as worker:
        assert worker.engine.counters["readings"] == 200  # what the document counted
        assert worker.counters["state_unreadable"] == 0
    with sessions() as session:
        names = set(session.scalars(select(WorkerState.name)))
        meta = session.get(WorkerState, f"{PART_PREFIX}meta")
        assert meta is not None and meta.state["counters"]["readings"] == 200
    assert "engine" not in names
    assert {n for n in names if n.startswith(f"{PART_PREFIX}loc/")} == {
        f"{PART_PREFIX}loc/{key}" for key in worker.engine.locations
    }
