"""One gateway process: MQTT and serial sources -> intake -> spool -> drainer -> sink."""

from __future__ import annotations

import gc
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


# The garbage collector's policy for a gateway process (issue 18). Nothing the gateway makes
# per message is in a reference cycle (paho's topic matcher made one per message:
# coldchain/mqtt/session.py `_Matcher`), so the collector frees nothing while messages flow;
# it only walks what is alive. What the start made (modules, settings, clients) is frozen:
# out of every later walk. And a young generation of YOUNG_OBJECTS rather than CPython's 700:
# a commit's batch (up to 2,000 messages, a row per reading) is alive while it is built, and
# with 700 it was walked and promoted many times over before the commit freed it all.
# Measured side by side (bench/gateway_throughput.py --baseline): 10 readings per message,
# 14.4-14.9 us of gateway CPU per reading against 15.8-16.7 without (docs/gateway.md).
YOUNG_OBJECTS = 20_000


def settle_collector() -> None:
    """Once the gateway has started, in its own process only (`run`): gc.freeze is
    process-wide, and a test or a tool that embeds a Gateway keeps CPython's defaults."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, old)


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
        settle_collector()
        while not self._stopping.wait(1.0):
            pass
        self.stop()
        return 0
