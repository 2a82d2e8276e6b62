"""MQTT ingestion: paho-mqtt 2.x, MQTT 5, shared subscription, persistent session, manual ack.

- The client id is stable and the session persistent (`clean_start=False` on EVERY connect,
  plus a SessionExpiryInterval): paho's default MQTT_CLEAN_START_FIRST_ONLY would drop the
  session at each process start, and with it whatever the broker queued for us.
- `manual_ack=True`: a message is acknowledged only once the intake committed it to the
  spool (or to the quarantine). A crash before that leaves it unacknowledged in the broker's
  session, redelivered at reconnect.
- `on_message` runs in paho's network thread: it only hands the message to the intake.
- An ack is sent only on the connection the message came on: after a reconnect the broker
  resends every unacknowledged message with its packet id, and those copies get acked.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt

from coldchain.mqtt.session import connect_persistent, persistent_client
from coldchain.protocol import TOPIC_ROOT, Kind, share_filter
from coldchain.settings import GatewaySettings, MqttSettings
from gateway.intake import Envelope, Intake, Outcome, now_ms
from gateway.metrics import GatewayMetrics

log = logging.getLogger(__name__)


class MqttSource:
    def __init__(
        self,
        mqtt_settings: MqttSettings,
        gateway_settings: GatewaySettings,
        intake: Intake,
        metrics: GatewayMetrics,
    ) -> None:
        self.settings = mqtt_settings
        self.intake = intake
        self.metrics = metrics
        self.client_id = gateway_settings.client_id
        group = gateway_settings.share_group
        # shared_subscription=false means a plain subscription: Mosquitto 2.0 does not restore
        # shared subscriptions from its persistence file after a restart (measured,
        # docs/gateway.md), so a single-gateway site then loses nothing published between a
        # broker restart and the gateway's re-subscription.
        shared = gateway_settings.shared_subscription
        self.filters = [
            share_filter(group, kind) if shared else f"{TOPIC_ROOT}/+/{kind.value}"
            for kind in (Kind.READINGS, Kind.STATUS)
        ]
        self.receive_maximum = gateway_settings.receive_maximum
        self._generation = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = persistent_client(self.settings, self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        connect_persistent(self.client, self.settings, self.receive_maximum)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()
        self.metrics.connected.set(0)

    # --- paho callbacks (network thread) --------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        log.info("connected to %s:%d as %s (session present: %s)", self.settings.host,
                 self.settings.port, self.client_id, flags.session_present)  # fmt: skip
        # Subscribing again is harmless when the session kept the subscriptions.
        client.subscribe([(f, 1) for f in self.filters])
        self.metrics.connected.set(1)
        self.connected.set()

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("broker refused the subscription %s: %s", self.filters, failed)
        else:
            log.info("subscribed to %s", ", ".join(self.filters))
            self.subscribed.set()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self.metrics.connected.set(0)
        log.warning("disconnected from the broker (%s); paho reconnects", reason)

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        mid, qos, generation = msg.mid, msg.qos, self._generation

        def ack(_outcome: Outcome) -> None:
            if qos > 0 and generation == self._generation:
                client.ack(mid, qos)

        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers check this; never let input kill paho's thread
            raw = msg._topic.decode("utf-8", "replace")  # paho keeps the raw bytes here
            self.intake.submit(Envelope(Kind.READINGS, bytes(msg.payload), raw, "mqtt", now_ms(),
                                        ack, preset_reason="invalid_topic",
                                        detail="topic is not UTF-8"))  # fmt: skip
            return
        kind = Kind.STATUS if topic.endswith("/" + Kind.STATUS.value) else Kind.READINGS
        self.intake.submit(Envelope(kind, bytes(msg.payload), topic, "mqtt", now_ms(), ack))
