"""Prometheus metrics of one gateway process (served on `gateway.metrics_port`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LAG_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600)


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
        self.lag = Histogram(
            "coldchain_gateway_ingestion_lag_seconds",
            "Arrival time minus device time of each reading", buckets=_LAG_BUCKETS, registry=r,
        )  # fmt: skip
        self.connected = Gauge(
            "coldchain_gateway_broker_connected", "1 while connected to the broker", registry=r
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)
