"""The alert worker: readings from the broker -> location (installation history) ->
calibration -> the rules engine -> alerts in the database -> notifications.

One processing thread owns the engine (it is not thread-safe). Alert events are committed
as soon as a batch of messages is judged (low latency for the SSE streams); the engine
state is saved at most every `state_save_s`, and only then are the messages it includes
acknowledged to the broker. A crash loses nothing: unacknowledged messages come back at
reconnect (same client id, persistent session), the restored state judges them again, and
the engine's publisher matches what was already published, so nothing is raised twice.
Independent of the gateway and of InfluxDB: it reads the broker and the relational database.
Readings of a probe id nobody registered are judged nowhere: the worker notes the id for the
admin's « Sondes inconnues » (server/domain/unknown_probes.py).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from alerts.engine import ConfigError, Engine
from alerts.events import AlertEvent
from coldchain import clock
from coldchain.mqtt.subscriber import Delivery
from coldchain.protocol import MAX_PAYLOAD_BYTES, Rejection, parse_readings
from coldchain.settings import Settings
from server.alerting.db import worker_sessions
from server.alerting.dispatch import Dispatcher
from server.alerting.event_writer import record_events
from server.alerting.maintenance import check_calibrations
from server.alerting.mqtt import AlertMqtt
from server.alerting.places import Places
from server.core.models import utcnow
from server.core.models.alerts import RejectedMessage, WorkerState
from server.domain import unknown_probes

log = logging.getLogger(__name__)

STATE_NAME = "engine"
LEASE_NAME = "engine-lease"  # which worker owns the state (one worker per deployment)
LEASE_RENEW_S = 20.0  # the lease lasts max(60 s, 3 x state_save_s)


class AnotherWorkerRunning(RuntimeError):
    """A second worker with another client id would split the readings and the state."""


def now_ms() -> int:
    return clock.now_ms()


class AlertWorker:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session] | None = None) -> None:
        self.settings = settings
        self.cfg = settings.alerting
        clock.configure(settings.clock)
        self._engine: DbEngine | None = None
        if sessions is None:  # its own connections (see server/alerting/db.py)
            self._engine, sessions = worker_sessions(settings.server.database_url)
        self.sessions = sessions
        self.engine = Engine()
        self.mqtt = AlertMqtt(settings.mqtt, self.cfg)
        self.dispatcher = Dispatcher(settings, sessions, self.mqtt)
        self.places = Places()
        self.counters: collections.Counter[str] = collections.Counter()
        self.pending: list[Delivery] = []
        self.unknown: dict[str, unknown_probes.Heard] = {}  # this batch's unregistered ids
        # Save (and ack) before the broker's in-flight window fills up.
        self.ack_batch = max(1, self.cfg.receive_maximum // 2)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_save = 0.0
        self._last_lease = 0.0
        self._next_silence = 0.0
        self._next_refresh = 0.0
        self._next_calibration_check = 0.0

    # --- life ----------------------------------------------------------------------------

    def start(self) -> None:
        self._restore()
        self.mqtt.start()
        self._thread = threading.Thread(target=self._run, name="alert-worker", daemon=True)
        self._thread.start()
        self.dispatcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.dispatcher.stop()
        self.mqtt.stop()
        if self._engine is not None:
            self._engine.dispose()

    def _restore(self) -> None:
        now = now_ms()
        events: list[AlertEvent] = []
        with self.sessions() as session:
            self._take_lease(session)
            row = session.get(WorkerState, STATE_NAME)
            if row is not None:
                try:
                    events = self.engine.restore(row.state, now)
                    log.info("engine state restored (%d locations)", len(self.engine.locations))
                except ConfigError as exc:
                    # Kept aside for inspection under another name, never overwritten blindly.
                    log.error("engine state unreadable, starting empty: %s", exc)
                    self.counters["state_unreadable"] += 1
                    session.merge(
                        WorkerState(name=f"{STATE_NAME}-unreadable-{now}", state=row.state)
                    )
            events += self._refresh(session, now)
            record_events(session, events, self.cfg, utcnow())
            self._save(session)
            session.commit()

    # --- the processing thread -----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            while not self._stop.is_set():
                try:
                    self._process(batch)
                    break
                except Exception:
                    # Broad on purpose: the worker thread's top loop. The database refused
                    # (busy, down) or a bug: logged, counted, the batch judged again.
                    log.exception(
                        "alert worker: batch failed; judging it again from the saved state"
                    )
                    self.counters["batch_retried"] += 1
                    time.sleep(0.5)
                    batch = self._recover(batch)
        with self.sessions() as session:
            self._save(session)
            session.commit()
        self._ack_pending()

    def _recover(self, batch: list[Delivery]) -> list[Delivery]:
        """The engine moved on but its events were not committed: start again from the
        saved state with every message not acknowledged yet (re-judging them is harmless:
        duplicates change nothing and alerts already on record come back as 'replayed')."""
        while not self._stop.is_set():
            self.engine = Engine()
            try:
                self._restore()
                break
            except Exception:
                # Broad on purpose: still the worker thread's loop; whatever the restore raised
                # (database down, a bug), never judge on with an empty engine: it would forget.
                log.exception("alert worker: restore failed; trying again")
                time.sleep(1)
        self._next_refresh = 0.0
        retry = self.pending + batch
        self.pending = []
        return retry

    def _take_batch(self) -> list[Delivery]:
        batch: list[Delivery] = []
        try:
            batch.append(self.mqtt.inbox.get(timeout=0.2))
            while len(batch) < 200:
                batch.append(self.mqtt.inbox.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _process(self, batch: list[Delivery]) -> None:
        now = now_ms()
        clock = time.monotonic()
        with self.sessions() as session:
            events: list[AlertEvent] = []
            if clock >= self._next_refresh:
                events += self._refresh(session, now)
            self.unknown = {}
            for message in batch:
                events += self._judge(session, message, now)
            if self.unknown:  # told to the admin (/admin « Sondes inconnues »)
                self.counters["unknown_probe_dropped"] += unknown_probes.note(
                    session, self.unknown, utcnow()
                )
            if clock >= self._next_silence:
                self._next_silence = clock + self.cfg.silence_check_s
                events += self.engine.check_silence(now)
                events += self.engine.check_doors(now)  # doors left open, nothing arriving
            record_events(session, events, self.cfg, utcnow())
            maintenance = []
            if self.cfg.calibration_check_s and clock >= self._next_calibration_check:
                self._next_calibration_check = clock + self.cfg.calibration_check_s
                maintenance = check_calibrations(session, self.cfg, utcnow())
            self.pending.extend(batch)
            since = clock - self._last_save
            save = bool(self.pending) and (
                since >= self.cfg.state_save_s or len(self.pending) >= self.ack_batch
            )
            if save:
                self._save(session)
            elif clock - self._last_lease >= LEASE_RENEW_S:
                self._renew_lease(session)  # idle: still the one worker
            session.commit()
        if events or maintenance:
            self.dispatcher.wake()
        if save:
            self._ack_pending()

    def _judge(self, session: Session, message: Delivery, now: int) -> list[AlertEvent]:
        # A topic that is not UTF-8 was refused by the subscriber: kept like any bad input.
        parsed = message.rejection or parse_readings(message.payload, now, message.topic)
        if isinstance(parsed, Rejection):
            self.counters[f"rejected_{parsed.reason.value}"] += 1
            self.counters["rejected"] += 1
            session.add(
                RejectedMessage(
                    topic=message.topic[:300],
                    payload=message.payload[: 4 * MAX_PAYLOAD_BYTES],
                    reason=parsed.reason.value,
                    detail=parsed.detail[:500],
                )
            )
            log.warning(
                "rejected %s: %s (%s)",
                message.topic[:100],
                parsed.reason.value,
                parsed.detail[:200],
            )
            return []
        by_location: dict[str, list[Any]] = {}
        unplaced = 0
        if parsed.probe_id not in self.places.probe_pk:  # not registered: kept aside, noted
            heard = self.unknown.setdefault(parsed.probe_id, unknown_probes.Heard(0, ""))
            heard.readings += len(parsed.readings)
            heard.topic = message.topic
            self.counters["unknown_probe_readings"] += len(parsed.readings)
        for reading in parsed.readings:
            placed = self.places.place(reading)
            if placed is None and reading.probe_id not in self.places.probe_pk:
                self._refresh_soon()
            if placed is None:
                unplaced += 1
                continue
            by_location.setdefault(placed.location_key, []).append(placed.reading)
        self.counters["readings"] += len(parsed.readings) - unplaced
        self.counters["not_installed"] += unplaced  # stored by the gateway; no place to judge
        events: list[AlertEvent] = []
        for key, readings in by_location.items():
            result = self.engine.ingest(key, readings, now)
            events += result.events
            for error in result.errors:
                self.counters[f"engine_{error.reason}"] += 1
            bugs = [e for e in result.errors if e.reason == "internal_error"]
            if bugs:  # the engine's broad guard caught a bug (alerts/engine.py, ingest)
                log.error("engine error at %s, %d readings set aside: %s", key, len(bugs),
                          bugs[0].detail)  # fmt: skip
        self.counters["messages"] += 1
        return events

    def _refresh_soon(self) -> None:
        self._next_refresh = min(self._next_refresh, time.monotonic() + 2.0)

    def _refresh(self, session: Session, now: int) -> list[AlertEvent]:
        """Read installations, calibrations and lots again; re-judge where they changed."""
        self._next_refresh = time.monotonic() + self.cfg.refresh_s
        self.places = Places.load(session, self.cfg.empty_zone_category, now)
        events: list[AlertEvent] = []
        for key, config in self.places.configs.items():
            lots = self.places.lots.get(key, [])
            location = self.engine.locations.get(key)
            if location is not None and location.config == config and list(location.lots) == lots:
                continue
            try:
                events += self.engine.configure(config, now, lots)
            except ConfigError as exc:
                self.counters["config_error"] += 1
                log.error("location %s not judged: %s", key, exc)
        for key in set(self.engine.locations) - set(self.places.configs):
            self.engine.remove(key)
        return events

    def _take_lease(self, session: Session) -> None:
        lease = session.get(WorkerState, LEASE_NAME)
        ttl = max(60.0, 3 * self.cfg.state_save_s)
        if lease is not None and lease.state.get("client_id") != self.cfg.client_id:
            age = (utcnow() - lease.updated_at).total_seconds()
            if age < ttl:
                raise AnotherWorkerRunning(
                    f"alert worker {lease.state.get('client_id')!r} saved its state {age:.0f} s "
                    f"ago; run one worker per deployment (docs/alert-lifecycle.md)"
                )
        self._renew_lease(session)

    def _renew_lease(self, session: Session) -> None:
        lease = session.get(WorkerState, LEASE_NAME)
        if lease is None:
            lease = WorkerState(name=LEASE_NAME, state={})
            session.add(lease)
        lease.state = {"client_id": self.cfg.client_id}
        lease.updated_at = utcnow()
        self._last_lease = time.monotonic()

    def _save(self, session: Session) -> None:
        self._renew_lease(session)
        state = self.engine.save()
        row = session.get(WorkerState, STATE_NAME)
        if row is None:
            session.add(WorkerState(name=STATE_NAME, state=state, updated_at=utcnow()))
        else:
            row.state = state
            row.updated_at = utcnow()
        self._last_save = time.monotonic()

    def _ack_pending(self) -> None:
        for message in self.pending:
            self.mqtt.ack(message)
        self.pending.clear()

    def status(self) -> dict[str, Any]:
        return {"counters": dict(self.counters), "engine": dict(self.engine.counters)}
