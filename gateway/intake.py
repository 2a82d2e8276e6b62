"""The intake: validates incoming messages and makes them durable, then acknowledges them.

MQTT's network thread and the serial readers only `submit` envelopes (cheap). One writer
thread takes whatever has queued up, validates it with `coldchain.protocol`, commits readings,
rejects (quarantine) and statuses to the spool in ONE transaction, and only then calls each
envelope's `done` callback (MQTT PUBACK, serial ACK/REJ). Group commit keeps fsyncs few.

When the spool is full, the writer stops taking envelopes: nothing is acknowledged, so the
broker (or the probe's flash queue) keeps the data; an alarm is logged and exported.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from coldchain import clock, protocol
from coldchain.protocol import Kind, ProbeStatus, ReadingRow, Rejection
from gateway.metrics import GatewayMetrics
from gateway.quarantine import ReasonLog
from gateway.spool import Quarantined, RowsMessage, Spool, StatusUpdate

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_COMMIT = 2000
# What the quarantine keeps of one rejected input: 4x the contract's limit shows what an
# oversize payload was without letting a flood of 1 MB messages fill the disk.
MAX_KEPT_BYTES = 4 * protocol.MAX_PAYLOAD_BYTES


# Not frozen: one of each is built per message, and a frozen dataclass's __init__ is slower.
@dataclass(slots=True)
class Outcome:
    accepted: bool
    readings: int = 0
    reason: str | None = None  # rejection reason when not accepted


@dataclass(slots=True)
class Envelope:
    kind: Kind | None  # READINGS or STATUS; None for a serial line that is not a frame
    payload: bytes
    topic: str | None  # the MQTT topic (probe id checked against it); None on serial
    source: str  # "mqtt" or "serial:<port>"
    received_ms: int
    done: Callable[[Outcome], None]
    # Set when the transport already rejected the input (a serial line that is not a frame):
    # it goes straight to the quarantine with this reason.
    preset_reason: str | None = None
    detail: str = ""


def now_ms() -> int:
    return clock.now_ms()


class Intake:
    def __init__(
        self,
        spool: Spool,
        metrics: GatewayMetrics,
        *,
        spool_max_readings: int,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.spool = spool
        self.metrics = metrics
        self.spool_max = spool_max_readings
        self.on_committed = on_committed
        self._queue: queue.SimpleQueue[Envelope] = queue.SimpleQueue()
        self._stop = threading.Event()
        # flush() waits until everything submitted before it was committed and answered.
        self._progress = threading.Condition()
        self._submitted = 0
        self._processed = 0
        self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
        self._full_since: float | None = None
        self._reason_log = ReasonLog()
        # Called in the writer thread after each batch's `done` callbacks: a source that
        # gathers its answers (the MQTT source's PUBACKs) sends them together there.
        self._batch_end: list[Callable[[], None]] = []

    def start(self) -> None:
        self._thread.start()

    def on_batch_end(self, hook: Callable[[], None]) -> None:
        """Call `hook` in the writer thread after each committed batch's `done` callbacks."""
        self._batch_end.append(hook)

    def submit(self, envelope: Envelope) -> None:
        with self._progress:
            self._submitted += 1
        self._queue.put(envelope)

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far is committed (True) or `timeout` passes."""
        with self._progress:
            target = self._submitted
            return self._progress.wait_for(lambda: self._processed >= target, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._stop.set()
        self._thread.join(timeout)

    # --- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._wait_for_room()
            batch = [first]
            while len(batch) < MAX_MESSAGES_PER_COMMIT:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(batch)
            except Exception:
                # Broad on purpose: the writer thread's top loop; if it died, nothing would be
                # acknowledged again. The spool itself failed (disk full, I/O error) or a bug:
                # acknowledge nothing, keep the data where it is (broker session / probe
                # queue), retry shortly.
                log.exception("spool commit failed; %d messages left unacknowledged", len(batch))
                time.sleep(1.0)
                for envelope in batch:
                    self._queue.put(envelope)
                continue
            with self._progress:
                self._processed += len(batch)
                self._progress.notify_all()

    def _wait_for_room(self) -> None:
        while self.spool.depth() >= self.spool_max and not self._stop.is_set():
            if self._full_since is None:
                self._full_since = time.monotonic()
                self.metrics.spool_full.set(1)
                log.error(
                    "ALARM spool full (%d readings >= spool_max_readings %d): not acknowledging "
                    "new messages until the sink catches up; the broker keeps them",
                    self.spool.depth(), self.spool_max,
                )  # fmt: skip
            time.sleep(0.2)
        if self._full_since is not None:
            log.warning("spool has room again after %.1f s", time.monotonic() - self._full_since)
            self._full_since = None
            self.metrics.spool_full.set(0)

    def _commit(self, batch: list[Envelope]) -> None:
        now = now_ms()
        messages: list[RowsMessage] = []
        rejects: list[Quarantined] = []
        statuses: list[StatusUpdate] = []
        outcomes: list[Outcome] = []
        for env in batch:
            if len(env.payload) > MAX_KEPT_BYTES:
                env = _truncated(env)
            if env.preset_reason is not None or env.kind is None:
                reason = env.preset_reason or "not_a_frame"
                rejects.append(Quarantined(env.received_ms, env.source, env.topic, reason,
                                           env.detail, env.payload))  # fmt: skip
                outcomes.append(Outcome(False, reason=reason))
                continue
            result = self._validate(env, now)
            if isinstance(result, Rejection):
                rejects.append(
                    Quarantined(
                        env.received_ms, env.source, env.topic, result.reason.value,
                        result.detail, env.payload,
                    )
                )  # fmt: skip
                outcomes.append(Outcome(False, reason=result.reason.value))
            elif isinstance(result, tuple):  # (probe id, rows): a valid readings message
                probe, rows = result
                messages.append((probe, rows, env.received_ms))
                outcomes.append(Outcome(True, readings=len(rows)))
            else:
                statuses.append(StatusUpdate(result, env.received_ms, env.source))
                outcomes.append(Outcome(True))
        added = self.spool.commit(messages, rejects, statuses)
        # Durable from here on: acknowledge, then account.
        for env, outcome in zip(batch, outcomes, strict=True):
            try:
                env.done(outcome)
            except Exception:
                # Broad on purpose: `done` is the transport's callback (paho's ack, a serial
                # ACK/REJ, a test's). The messages are durable by now: one failed answer must
                # neither skip the others' nor send the batch back for another commit.
                log.exception("acknowledging a %s message failed", env.source)
        for hook in self._batch_end:
            try:
                hook()
            except Exception:
                # Broad on purpose, as for `done` above: the transport's batched answers (the
                # PUBACKs). The batch is durable; a failed answer leaves its messages with the
                # broker, which sends them again (the spool then counts them as duplicates).
                log.exception("sending a batch of acknowledgements failed")
        self.on_committed()
        per_label = Counter(
            (env.source.partition(":")[0], env.kind.name.lower() if env.kind else "noise")
            for env in batch
        )
        for labels, count in per_label.items():
            self.metrics.messages.labels(*labels).inc(count)
        received = sum(len(rows) for _, rows, _ in messages)
        self.metrics.readings.inc(received)
        self.metrics.duplicates.inc(received - added)
        for q in rejects:
            self.metrics.rejected.labels(q.reason).inc()
            self._reason_log.quarantined(q)
        self.metrics.lag.observe_many(  # row[1]: the reading's device time
            (arrived - row[1]) / 1000 for _, rows, arrived in messages for row in rows
        )
        self.metrics.spool_depth.set(self.spool.depth())

    @staticmethod
    def _validate(
        env: Envelope, now: int
    ) -> tuple[str, list[ReadingRow]] | ProbeStatus | Rejection:
        try:
            if env.kind is Kind.READINGS:
                # As rows: the spool stores rows, no Reading object is needed.
                return protocol.parse_reading_rows(env.payload, now, env.topic)
            return protocol.parse_status(env.payload, now, env.topic)
        except Exception as exc:
            # Broad on purpose: the validator never raises on input, so whatever it raises is
            # a bug. Quarantined (and counted as a rejection) rather than re-raised: a batch
            # holding that message would otherwise fail its commit and be retried forever.
            log.exception("validator raised")
            return Rejection(protocol.Reason.INVALID_JSON, f"validator error: {exc!r}"[:200])


def _truncated(env: Envelope) -> Envelope:
    """An oversize input: validation needs only its size, the quarantine keeps its head."""
    detail = f"{len(env.payload)} bytes > {protocol.MAX_PAYLOAD_BYTES}; first {MAX_KEPT_BYTES} kept"
    return Envelope(
        env.kind, env.payload[:MAX_KEPT_BYTES], env.topic, env.source, env.received_ms,
        env.done, preset_reason=env.preset_reason or protocol.Reason.PAYLOAD_TOO_LARGE.value,
        detail=env.detail or detail,
    )  # fmt: skip
