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

from coldchain.mqtt.session import connect_persistent, persistent_client
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
        client = persistent_client(mqtt_settings, self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client

    def start(self) -> None:
        connect_persistent(self.client, self.settings, self.receive_maximum)

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
