"""MQTT ingestion: the shared subscriber (coldchain/mqtt/subscriber.py) feeding the intake.

The broker connection itself (MQTT 5, persistent session, reconnects, acks only on the
connection a message came on) is the shared core's. This module chooses the subscription
(readings and status), hands each message to the intake, and acknowledges it once the intake
committed it to the spool (or to the quarantine): a crash before that leaves it
unacknowledged in the broker's session, redelivered at reconnect.
"""

from __future__ import annotations

from coldchain.mqtt.subscriber import Delivery, Subscriber
from coldchain.protocol import TOPIC_ROOT, Kind, share_filter
from coldchain.settings import GatewaySettings, MqttSettings
from gateway.intake import Envelope, Intake, Outcome, now_ms
from gateway.metrics import GatewayMetrics


class MqttSource:
    def __init__(
        self,
        mqtt_settings: MqttSettings,
        gateway_settings: GatewaySettings,
        intake: Intake,
        metrics: GatewayMetrics,
    ) -> None:
        self.intake = intake
        self.metrics = metrics
        group = gateway_settings.share_group
        # shared_subscription=false means a plain subscription: Mosquitto 2.0 does not restore
        # shared subscriptions from its persistence file after a restart (measured,
        # docs/gateway.md), so a single-gateway site then loses nothing published between a
        # broker restart and the gateway's re-subscription.
        shared = gateway_settings.shared_subscription
        filters = [
            share_filter(group, kind) if shared else f"{TOPIC_ROOT}/+/{kind.value}"
            for kind in (Kind.READINGS, Kind.STATUS)
        ]
        self.subscriber = Subscriber(
            mqtt_settings,
            gateway_settings.client_id,
            filters,
            gateway_settings.receive_maximum,
            self._submit,
            name="gateway",
            on_link=lambda up: self.metrics.connected.set(1 if up else 0),
        )
        self.connected = self.subscriber.connected
        self.subscribed = self.subscriber.subscribed

    def start(self) -> None:
        self.subscriber.start()

    def stop(self) -> None:
        self.subscriber.stop()

    def _submit(self, delivery: Delivery) -> None:
        """In paho's network thread: only hand the message to the intake."""

        def ack(_outcome: Outcome) -> None:
            self.subscriber.ack(delivery)

        if delivery.rejection is not None:  # refused by the transport: straight to quarantine
            self.intake.submit(Envelope(Kind.READINGS, delivery.payload, delivery.topic, "mqtt",
                                        now_ms(), ack,
                                        preset_reason=delivery.rejection.reason.value,
                                        detail=delivery.rejection.detail))  # fmt: skip
            return
        kind = Kind.STATUS if delivery.topic.endswith("/" + Kind.STATUS.value) else Kind.READINGS
        self.intake.submit(Envelope(kind, delivery.payload, delivery.topic, "mqtt", now_ms(), ack))
