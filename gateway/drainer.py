"""The drainer: sends spooled readings to the sink in batches, deletes only what it confirmed.

A failed write is retried with exponential backoff (0.5 s doubling to `max_backoff_s`), the
spool keeps growing meanwhile. A batch the sink refuses for good (HTTP 400: a malformed or
conflicting point) is moved to the quarantine, so one bad point cannot block the rest.
A reading for a (probe, channel, time) the sink already holds with other fields never
replaces it: the sink keeps it aside as a conflict, counted here (first write wins).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from coldchain.readingstore.base import ReadingSink, SinkError, SinkRejected, SpooledRowsSink
from gateway.intake import now_ms
from gateway.metrics import GatewayMetrics
from gateway.spool import Spool

log = logging.getLogger(__name__)

# After a partial batch, let more readings gather before the next write: sending whatever a
# single commit brought costs a sink round trip and a spool transaction per handful of
# readings. Readings arrive minutes apart per probe; 0.2 s of latency is nothing.
LINGER_S = 0.2


class Drainer:
    def __init__(
        self,
        spool: Spool,
        sink: ReadingSink,
        metrics: GatewayMetrics,
        *,
        batch_size: int = 5000,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.spool = spool
        self.sink = sink
        self.metrics = metrics
        self.batch_size = batch_size
        self.max_backoff_s = max_backoff_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drainer", daemon=True)
        self.backoff_s = 0.0
        self._last_batch = 0
        # Arrival time of the oldest spooled reading, as of the last look at the spool. The
        # age is computed from it at each scrape, so it keeps growing between retries while
        # the sink is down (a value set only at each retry would freeze for up to
        # `max_backoff_s`).
        self._oldest_arrival_ms: int | None = None
        metrics.spool_age.set_function(self._oldest_age_s)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, flush_timeout: float = 10.0) -> None:
        """Stop after sending what the spool holds, if the sink takes it within the timeout."""
        deadline = time.monotonic() + flush_timeout
        while self.spool.depth() and time.monotonic() < deadline and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.05)
        if self.spool.depth():
            log.warning("stopping with %d readings still spooled (sent at next start)",
                        self.spool.depth())  # fmt: skip
        self._stop.set()
        self._wake.set()
        self._thread.join(max(1.0, deadline - time.monotonic()) + 15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.drain_once()
            except Exception:
                # Broad on purpose: the thread's top loop; if it died, nothing would drain the
                # spool again. The spool itself (disk, lock timeout) or a bug: logged with its
                # traceback, retried after a backoff.
                log.exception("drainer error; retrying")
                self.backoff_s = min(self.max_backoff_s, max(0.5, self.backoff_s * 2))
                sent = False
            if sent:
                if self._last_batch < self.batch_size:
                    self._stop.wait(LINGER_S)
                continue
            if self.backoff_s:
                # New arrivals must not cut a backoff short: only stop() does.
                self._stop.wait(self.backoff_s)
            else:
                self._wake.wait(1.0)
                self._wake.clear()

    def drain_once(self) -> bool:
        """Send one batch. True when a batch went out (so there may be more right away)."""
        batch = self.spool.take(self.batch_size)
        self._export_depth(batch.oldest_arrival_ms)
        if batch.first_id is None or batch.last_id is None:
            return False
        count = batch.count
        self._last_batch = count
        started = time.perf_counter()
        try:
            if isinstance(self.sink, SpooledRowsSink):
                # The spool's text as it is: no Reading object per reading (the SQLite sink).
                conflicts = self.sink.write_first_spooled(batch.spooled, count)
            else:
                conflicts = self.sink.write_first(batch.readings)
        except SinkRejected as exc:
            log.error("ALARM sink refused %d readings for good: %s; moved to quarantine",
                      count, exc)  # fmt: skip
            self.spool.move_to_quarantine(batch, "sink_rejected", str(exc), now_ms())
            self.metrics.sink_rejected.inc(count)
            self.metrics.rejected.labels("sink_rejected").inc()
            return True
        except (SinkError, sqlite3.Error) as exc:
            # SinkError from the InfluxDB sinks, sqlite3.Error from the sqlite sink: the batch
            # stays spooled. Anything else is a bug: _run logs it with its traceback and backs
            # off the same way, the batch still spooled.
            self.metrics.sink_failures.inc()
            self.backoff_s = min(self.max_backoff_s, max(0.5, self.backoff_s * 2))
            level = logging.WARNING if isinstance(exc, SinkError) else logging.ERROR
            log.log(level, "sink write of %d readings failed (%s); %d spooled; retry in %.1f s",
                    count, exc, self.spool.depth(), self.backoff_s)  # fmt: skip
            return False
        if conflicts:
            # First write wins: the stored readings stay; the sink kept each conflict aside.
            self.metrics.conflicts.inc(len(conflicts))
            for c in conflicts[:10]:
                log.warning("ALARM conflicting reading for %s/%s at %d: stored %r (seq %d), "
                            "new %r (seq %d) kept aside", c.new.probe_id, c.new.channel,
                            c.new.time_ms, c.stored.value, c.stored.seq, c.new.value,
                            c.new.seq)  # fmt: skip
        self.metrics.sink_latency.observe(time.perf_counter() - started)
        self.metrics.sink_points.inc(count)
        if self.backoff_s:
            log.info("sink is back; draining %d spooled readings", self.spool.depth())
        self.backoff_s = 0.0
        self.spool.remove(batch.first_id, batch.last_id)
        return True

    def _export_depth(self, oldest_arrival_ms: int | None) -> None:
        self.metrics.spool_depth.set(self.spool.depth())
        self._oldest_arrival_ms = oldest_arrival_ms

    def _oldest_age_s(self) -> float:
        """coldchain_gateway_spool_oldest_age_seconds, at scrape time (no spool access)."""
        oldest = self._oldest_arrival_ms
        return 0.0 if oldest is None else max(0, now_ms() - oldest) / 1000
