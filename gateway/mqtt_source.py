"""MQTT ingestion: the shared subscriber (coldchain/mqtt/subscriber.py) feeding the intake.

The broker connection itself (MQTT 5, persistent session, reconnects, acks only on the
connection a message came on) is the shared core's. This module chooses the subscription
(readings and status), hands each message to the intake, and acknowledges it once the intake
committed it to the spool (or to the quarantine), the messages of one commit in one write: a
crash before that leaves it unacknowledged in the broker's session, redelivered at reconnect.
"""

from __future__ import annotations

from coldchain.mqtt.subscriber import Delivery, Subscriber
from coldchain.protocol import TOPIC_ROOT, Kind, Rejection, parse_topic, share_filter
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
        # Everything a probe may write (`up/#`, what the broker's ACL allows), not only the
        # known kinds: a message on an unknown suffix is routed by `parse_topic`, the one home
        # of which topics are valid, and quarantined as `invalid_topic` instead of never being
        # seen.
        shared = gateway_settings.shared_subscription
        up_filter = share_filter(group) if shared else f"{TOPIC_ROOT}/+/up/#"
        self.subscriber = Subscriber(
            mqtt_settings,
            gateway_settings.client_id,
            [up_filter],
            gateway_settings.receive_maximum,
            self._submit,
            name="gateway",
            on_link=lambda up: self.metrics.connected.set(1 if up else 0),
        )
        self.connected = self.subscriber.connected
        self.subscribed = self.subscriber.subscribed
        # Deliveries committed in the intake's current batch, PUBACKed together at its end
        # (Subscriber.ack_many: one write instead of one per message). Only the intake's
        # writer thread touches it.
        self._to_ack: list[Delivery] = []
        intake.on_batch_end(self._send_acks)

    def start(self) -> None:
        self.subscriber.start()

    def stop(self) -> None:
        self.subscriber.stop()

    def _submit(self, delivery: Delivery) -> None:
        """In paho's network thread: only hand the message to the intake."""

        def ack(_outcome: Outcome) -> None:
            self._to_ack.append(delivery)  # sent with the batch's others (_send_acks)

        # Refused by the transport (a topic that is not UTF-8) or by the contract's topic
        # rules (unknown suffix, bad probe id): straight to quarantine, counted and acked.
        route = delivery.rejection or parse_topic(delivery.topic)
        if isinstance(route, Rejection):
            self.intake.submit(Envelope(Kind.READINGS, delivery.payload, delivery.topic, "mqtt",
                                        now_ms(), ack, preset_reason=route.reason.value,
                                        detail=route.detail))  # fmt: skip
            return
        kind = route[1]  # up/readings or up/status (the validator refuses any other kind)
        self.intake.submit(Envelope(kind, delivery.payload, delivery.topic, "mqtt", now_ms(), ack))

    def _send_acks(self) -> None:
        """In the intake's writer thread, once a batch is durable: its PUBACKs, in one write."""
        if self._to_ack:
            deliveries, self._to_ack = self._to_ack, []
            self.subscriber.ack_many(deliveries)
