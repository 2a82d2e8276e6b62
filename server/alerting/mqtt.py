"""The alert worker's broker connection: MQTT 5, its own shared subscription
(`$share/alerts/cc/v1/dev/+/up/readings`), stable client id, persistent session
(clean_start=False on every connect + SessionExpiryInterval), manual acknowledgement.

Messages go to a queue read by the worker's one processing thread; an acknowledgement is
sent by `ack()` once the engine state that includes the message is saved, and only on
the connection the message came on (after a reconnect the broker resends the rest).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from coldchain.protocol import Kind, share_filter, topic
from coldchain.settings import AlertingSettings, MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class AlertMqtt:
    def __init__(self, mqtt_settings: MqttSettings, settings: AlertingSettings) -> None:
        self.settings = mqtt_settings
        # A plain subscription survives a Mosquitto 2.0 restart; a shared one is forgotten
        # until re-subscribed (measured, docs/gateway.md). One worker runs at a time (lease).
        self.filter = (
            share_filter(settings.share_group, Kind.READINGS)
            if settings.shared_subscription
            else topic("+", Kind.READINGS)
        )
        self.receive_maximum = settings.receive_maximum
        self.client_id = settings.client_id
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.generation = 0
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        s = mqtt_settings
        if s.username:
            client.username_pw_set(
                s.username, s.password.get_secret_value() if s.password else None
            )
        if s.tls_ca:
            client.tls_set(
                ca_certs=str(s.tls_ca),
                certfile=str(s.tls_cert) if s.tls_cert else None,
                keyfile=str(s.tls_key) if s.tls_key else None,
            )
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,  # every connect, the first included: keep the queued readings
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    def ack(self, message: Message) -> None:
        if message.qos > 0 and message.generation == self.generation:
            self.client.ack(message.mid, message.qos)

    def publish_wait(self, topic: str, payload: bytes, qos: int, timeout_s: float) -> bool:
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    # --- paho callbacks (network thread) -------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the alert worker: %s", reason)
            return
        self.generation += 1
        log.info(
            "alert worker connected as %s (session present: %s)",
            self.client_id,
            flags.session_present,
        )
        client.subscribe([(self.filter, 1)])
        self.connected.set()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error("broker refused the subscription %s: %s", self.filter, reasons)
        else:
            self.subscribed.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        log.warning("alert worker disconnected (%s); paho reconnects", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self.generation))
