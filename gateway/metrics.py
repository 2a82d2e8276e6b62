"""Prometheus metrics of one gateway process (served on `gateway.metrics_port`)."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import HistogramMetricFamily, Metric

_LAG_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600)


class BulkHistogram:
    """A histogram fed many values at once: the ingestion lag is observed for every reading,
    and prometheus_client's Histogram.observe (a lock and a loop per value) cost the intake
    about 10 % of its time."""

    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = sorted(buckets)
        self._counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: Iterable[float]) -> None:
        bounds, counts = self.bounds, self._counts
        with self._lock:
            for value in values:
                counts[bisect_left(bounds, value)] += 1  # bucket "le": value <= bound
                self._sum += value

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counts, total_sum = list(self._counts), self._sum
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, self.bounds), "+Inf"], counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            self.name, self.documentation, buckets=buckets, sum_value=total_sum
        )


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "coldchain_gateway_messages_received", "Messages received", ["source", "kind"],
            registry=r,
        )  # fmt: skip
        self.readings = Counter(
            "coldchain_gateway_readings_received", "Valid readings received", registry=r
        )
        self.rejected = Counter(
            "coldchain_gateway_rejected", "Messages or lines quarantined, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.duplicates = Counter(
            "coldchain_gateway_duplicates", "Readings received again while still spooled",
            registry=r,
        )  # fmt: skip
        self.serial_noise = Counter(
            "coldchain_gateway_serial_noise_lines", "Serial lines that are not frames", ["port"],
            registry=r,
        )  # fmt: skip
        self.spool_depth = Gauge(
            "coldchain_gateway_spool_depth", "Readings waiting in the spool", registry=r
        )
        self.spool_age = Gauge(
            "coldchain_gateway_spool_oldest_age_seconds",
            "Age of the oldest spooled reading (since arrival)", registry=r,
        )  # fmt: skip
        self.spool_full = Gauge(
            "coldchain_gateway_spool_full",
            "1 while the spool is full and the gateway stops acknowledging", registry=r,
        )  # fmt: skip
        self.sink_latency = Histogram(
            "coldchain_gateway_sink_batch_seconds", "Time to write one batch to the sink",
            registry=r,
        )  # fmt: skip
        self.sink_points = Counter(
            "coldchain_gateway_sink_readings_written", "Readings the sink confirmed", registry=r
        )
        self.sink_failures = Counter(
            "coldchain_gateway_sink_failures", "Failed sink writes (retried)", registry=r
        )
        self.sink_rejected = Counter(
            "coldchain_gateway_sink_rejected_readings",
            "Readings the sink refused for good (moved to quarantine)", registry=r,
        )  # fmt: skip
        self.conflicts = Counter(
            "coldchain_gateway_conflicting_readings",
            "Readings for a stored (probe, channel, time) with other fields: the stored one "
            "stays, the new one is kept aside as a conflict", registry=r,
        )  # fmt: skip
        self.lag = BulkHistogram(
            "coldchain_gateway_ingestion_lag_seconds",
            "Arrival time minus device time of each reading", _LAG_BUCKETS, r,
        )  # fmt: skip
        self.connected = Gauge(
            "coldchain_gateway_broker_connected", "1 while connected to the broker", registry=r
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)
