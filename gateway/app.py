"""One gateway process: MQTT and serial sources -> intake -> spool -> drainer -> sink."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from coldchain.readingstore.base import ReadingSink
from coldchain.readingstore.registry import make_sink
from coldchain.settings import Settings
from gateway.drainer import Drainer
from gateway.intake import Intake
from gateway.metrics import GatewayMetrics
from gateway.mqtt_source import MqttSource
from gateway.serial_bridge import SerialBridge
from gateway.spool import Spool

log = logging.getLogger(__name__)


class Gateway:
    def __init__(
        self, settings: Settings, *, sink: ReadingSink | None = None, mqtt: bool = True
    ) -> None:
        g = settings.gateway
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.spool = Spool(g.spool_path, fsync=g.spool_fsync)
        self.sink = sink if sink is not None else make_sink(settings.store)
        self.drainer = Drainer(
            self.spool, self.sink, self.metrics,
            batch_size=g.batch_size, max_backoff_s=g.sink_max_backoff_s,
        )  # fmt: skip
        self.intake = Intake(
            self.spool, self.metrics,
            spool_max_readings=g.spool_max_readings, on_committed=self.drainer.wake,
        )  # fmt: skip
        self.mqtt = MqttSource(settings.mqtt, g, self.intake, self.metrics) if mqtt else None
        self.serial = SerialBridge(
            g.serial_ports, g.serial_baud, self.intake, self.metrics, g.serial_reopen_max_s
        )
        self._stopping = threading.Event()

    def start(self) -> None:
        g = self.settings.gateway
        if g.metrics_port is not None:
            self.metrics.serve(g.metrics_port, g.metrics_addr)
        depth = self.spool.depth()
        if depth:
            log.info("resuming with %d readings in the spool", depth)
        self.drainer.start()
        self.intake.start()
        if self.mqtt:
            self.mqtt.start()
        self.serial.start()
        log.info("gateway started (sink: %s, spool: %s)", self.settings.store.kind,
                 g.spool_path)  # fmt: skip

    def stop(self) -> None:
        """Graceful: commit and ack what arrived, disconnect, then send the spool to the sink."""
        log.info("gateway stopping")
        self.intake.flush(5.0)
        if self.mqtt:
            self.mqtt.stop()
        self.serial.stop()
        self.intake.stop()
        self.drainer.stop(self.settings.gateway.shutdown_flush_s)
        self.sink.close()
        self.spool.close()
        log.info("gateway stopped")

    def run(self) -> int:
        """Run until SIGTERM or SIGINT."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self._stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        while not self._stopping.wait(1.0):
            pass
        self.stop()
        return 0
