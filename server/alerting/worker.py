"""The alert worker: readings from the broker -> location (installation history) ->
calibration -> the rules engine -> alerts in the database -> notifications.

One processing thread owns the engine (it is not thread-safe). Alert events are committed
as soon as a batch of messages is judged (low latency for the SSE streams); the engine
state is saved at most every `state_save_s`, and only then are the messages it includes
acknowledged to the broker. A crash loses nothing: unacknowledged messages come back at
reconnect (same client id, persistent session), the restored state judges them again, and
the engine's publisher matches what was already published, so nothing is raised twice.
It reads the broker and the relational database; the reading store (SQLite or InfluxDB,
written by the gateway) only for a late reading older than the readings the engine keeps
in memory (alerts/stream.py): if the store cannot answer, the batch is judged again later.
The state is saved in parts (server/alerting/db.py): only what changed since the last save.
Readings of a probe id nobody registered are judged nowhere: the worker notes the id for the
admin's « Sondes inconnues » (server/domain/unknown_probes.py).
"""

from __future__ import annotations

import collections
import gc
import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from alerts.engine import ConfigError, Engine
from alerts.events import AlertEvent
from alerts.stream import HistoryUnavailable, Row
from coldchain import clock
from coldchain.mqtt.subscriber import Delivery
from coldchain.protocol import MAX_PAYLOAD_BYTES, Rejection, parse_readings
from coldchain.readingstore.base import ReadingStore
from coldchain.readingstore.registry import make_reading_store
from coldchain.settings import Settings
from server.alerting.db import LEGACY_STATE_NAME, StateRows, worker_sessions
from server.alerting.dispatch import Dispatcher
from server.alerting.event_writer import record_events
from server.alerting.lease import Holder, Lease, this_process
from server.alerting.maintenance import check_calibrations
from server.alerting.mqtt import AlertMqtt
from server.alerting.places import Places
from server.core.models import utcnow
from server.core.models.alerts import RejectedMessage, WorkerState
from server.domain import unknown_probes

log = logging.getLogger(__name__)

STATE_NAME = LEGACY_STATE_NAME  # kept aside under this name when unreadable


# The garbage collector's policy for this process. The engine's state is some 60,000 long-lived
# containers holding a million references (each kept reading: its tuple is not tracked, but
# the list's reference to it is still visited): a full collection walks them all (45 ms on a
# quiet machine, 100-400 ms on a loaded one), and CPython starts one whenever enough new
# objects have piled up, most often inside a save (many new objects). Frozen (gc.freeze), they
# are no longer walked: after the restore the state is frozen, after each save what is new is
# collected (the objects of the last seconds: 0.5 ms, p99 2-5) and frozen in turn. A frozen object
# in a reference cycle is never collected (a location removed, an engine replaced), so every
# THAW_EVERY_S, right after a save, everything is thawed and collected in full once (outside
# any save), then frozen again: memory stays flat (bench/alert_memory.py, 24 h).
THAW_EVERY_S = 3600.0


class Collector:
    """When the garbage collector runs in the worker's process (see THAW_EVERY_S)."""

    def __init__(self, thaw_every_s: float = THAW_EVERY_S) -> None:
        self.thaw_every_s = thaw_every_s
        self._next_thaw: float | None = None

    def settle(self, now_s: float) -> None:
        """After the restore, and after each save is committed: collect what is not frozen
        (everything, every `thaw_every_s`), then freeze it all."""
        if self._next_thaw is None:  # the restore: frozen as it is, no full collection
            self._next_thaw = now_s + self.thaw_every_s
        else:
            if now_s >= self._next_thaw:
                gc.unfreeze()
                self._next_thaw = now_s + self.thaw_every_s
            gc.collect()
        gc.freeze()

    def stop(self) -> None:
        """The process's objects back to the collector (the worker may stop and the process
        go on: the server with `alerting.in_server`, the tests)."""
        gc.unfreeze()


class LeaseLost(RuntimeError):
    """Another worker took the lease (this one was presumed dead): stop judging at once."""


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
        self._store: ReadingStore | None = None  # opened at the first late reading it needs
        self._store_lock = threading.Lock()
        self.engine = Engine(history=self._history)
        self.state_rows = StateRows()
        self.collector = Collector()
        self.last_save_s = 0.0  # how long the last save of the engine's state took
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
        # Only the lease holder judges (server/alerting/lease.py); `lost` is set when another
        # worker took it, and the process then exits for its supervisor to restart it.
        self.lease = Lease(this_process(), self.cfg.client_id, self.cfg.lease_s)
        self.lost = threading.Event()
        self._next_silence = 0.0
        self._next_refresh = 0.0
        self._next_calibration_check = 0.0

    # --- life ----------------------------------------------------------------------------

    def try_lease(self) -> Holder | None:
        """Take the lease if free or expired: None when it is this worker's now, else who
        holds it (raises AnotherWorkerRunning for a live holder with another client id)."""
        with self.sessions() as session:
            holder = self.lease.take(session)
            session.commit()
        if holder is None:
            self._last_lease = time.monotonic()
        return holder

    def wait_for_lease(self, stopping: threading.Event) -> bool:
        """Stand by until the lease is this worker's (True) or `stopping` is set (False).
        Polled at a third of the lease: a dead holder is replaced within 4/3 of it."""
        while self.try_lease() is not None:
            if stopping.wait(max(0.5, self.cfg.lease_s / 3)):
                return False
        return True

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
        if self._store is not None:
            self._store.close()
        if self._engine is not None:
            self._engine.dispose()
        self.collector.stop()

    def _restore(self) -> None:
        now = now_ms()
        events: list[AlertEvent] = []
        self.state_rows = StateRows()
        with self.sessions() as session:
            self._hold_lease(session)
            parts = self.state_rows.load(session)
            legacy = session.get(WorkerState, LEGACY_STATE_NAME)
            try:
                if parts:
                    events = self.engine.restore_parts(parts, now)
                elif legacy is not None:  # saved in one document by an earlier version: once
                    events = self.engine.restore(legacy.state, now)
                if parts or legacy is not None:
                    log.info("engine state restored (%d locations)", len(self.engine.locations))
            except ConfigError as exc:
                # Kept aside for inspection under another name, never overwritten blindly.
                log.error("engine state unreadable, starting empty: %s", exc)
                self.counters["state_unreadable"] += 1
                kept = {"parts": parts} if parts else legacy.state if legacy else {}
                session.merge(WorkerState(name=f"{STATE_NAME}-unreadable-{now}", state=kept))
                self.state_rows.drop_all(session)
            if legacy is not None:
                session.delete(legacy)  # saved in parts from now on (below)
            if self.engine.upgraded:  # parts of an earlier version: replaced by today's below
                self.state_rows.drop_all(session)
            events += self._refresh(session, now)
            record_events(session, events, self.cfg, utcnow())
            self._save(session)
            session.commit()
        self.collector.settle(time.monotonic())  # the restored state frozen

    def _history(
        self, location_key: str, probe_id: str, channel: str, start_ms: int, end_ms: int
    ) -> list[Row]:
        """The engine's readings of one channel from the reading store, placed and calibrated
        as the broker's are (a replay of late data older than what the engine keeps)."""
        try:
            with self._store_lock:
                if self._store is None:
                    self._store = make_reading_store(self.settings.store)
                store = self._store
            stored = store.readings(probe_id, start_ms, end_ms, channel)
        except Exception as exc:
            # Broad on purpose: whatever the store raised (InfluxDB down, a timeout, a locked
            # file), the readings cannot be judged now; the batch is judged again later.
            log.warning("reading store unavailable for a late reading of %s: %s", probe_id, exc)
            self.counters["history_unavailable"] += 1
            raise HistoryUnavailable(str(exc)) from exc
        self.counters["history_reads"] += 1
        rows: list[Row] = []
        for reading in stored:
            placed = self.places.place(reading)
            if placed is not None and placed.location_key == location_key:
                r = placed.reading
                rows.append((r.time_ms, r.value, r.fault, r.clock_synced))
        return rows

    # --- the processing thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            self._judge_until_stopped()
        except LeaseLost as exc:
            # Nothing saved, nothing acknowledged: the worker that took over judges the
            # unacknowledged messages again from the state saved before.
            log.error("alert worker: %s; stopping without saving", exc)
            self.lost.set()
            self._stop.set()
            return
        with self.sessions() as session:
            self._save(session)
            self.lease.release(session)  # a standby takes over at once, not after lease_s
            session.commit()
        self._ack_pending()

    def _judge_until_stopped(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            while not self._stop.is_set():
                try:
                    self._process(batch)
                    break
                except LeaseLost:
                    raise
                except Exception:
                    # Broad on purpose: the worker thread's top loop. The database refused
                    # (busy, down) or a bug: logged, counted, the batch judged again.
                    log.exception(
                        "alert worker: batch failed; judging it again from the saved state"
                    )
                    self.counters["batch_retried"] += 1
                    time.sleep(0.5)
                    batch = self._recover(batch)

    def _recover(self, batch: list[Delivery]) -> list[Delivery]:
        """The engine moved on but its events were not committed: start again from the
        saved state with every message not acknowledged yet (re-judging them is harmless:
        duplicates change nothing and alerts already on record come back as 'replayed')."""
        while not self._stop.is_set():
            self.engine = Engine(history=self._history)
            try:
                self._restore()
                break
            except LeaseLost:
                raise
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
            elif clock - self._last_lease >= self.cfg.lease_s / 4:
                self._hold_lease(session)  # idle: still the active worker
            session.commit()
        if events or maintenance:
            self.dispatcher.wake()
        if save:
            self._ack_pending()
            self.collector.settle(time.monotonic())  # after the acks: they wait for nothing

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

    def _hold_lease(self, session: Session) -> None:
        """Renew the lease in this transaction, or raise LeaseLost: another worker took it
        (this one stalled past the lease), and two must never judge side by side."""
        if not self.lease.held(session):
            raise LeaseLost(f"lease taken by another worker ({self.lease.client_id})")
        self._last_lease = time.monotonic()

    def _save(self, session: Session) -> None:
        """Write the parts of the engine's state that changed since the last save (in the
        caller's transaction: they are saved together or not at all)."""
        self._hold_lease(session)
        started = time.perf_counter()
        self.counters["state_parts_saved"] += self.state_rows.save(
            session, self.engine.changed_parts()
        )
        session.flush()
        self.last_save_s = time.perf_counter() - started
        self._last_save = time.monotonic()

    def _ack_pending(self) -> None:
        for message in self.pending:
            self.mqtt.ack(message)
        self.pending.clear()

    def status(self) -> dict[str, Any]:
        return {"counters": dict(self.counters), "engine": dict(self.engine.counters)}
