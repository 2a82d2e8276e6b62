"""The servers' MQTT subscriber: the gateway and the alert worker consume probe messages with it.

Two layers, in the manner of peterhinch's mqtt_as (connectivity in one class, messages in
another, each quirk handled where it arises and commented there):

- `Connection` keeps the link: one paho client with a persistent session
  (coldchain/mqtt/session.py), paho's own reconnect loop, the subscriptions renewed on every
  connect, and a generation number per connection so that an acknowledgement only ever goes
  out on the connection its message came on.
- `Subscriber` turns each message into a `Delivery` for the consumer, in paho's network
  thread, and sends the acknowledgement when the consumer says the message is handled (made
  durable). A topic that is not UTF-8 reaches the consumer as a rejection instead of ending
  the network thread.

The consumer runs in paho's network thread: it must only hand the delivery on (a queue), or
it delays every PUBACK and keepalive ping
(docs/technical-notes.md#paho-mqtt-sessions-and-acknowledgements).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from coldchain.mqtt.session import connect_persistent, persistent_client
from coldchain.protocol import Reason, Rejection
from coldchain.settings import MqttSettings

log = logging.getLogger(__name__)

# What the consumer gets for a topic that is not UTF-8: the same reason a bad topic gets
# from the validator, so it is quarantined, counted and acknowledged like any bad input.
NOT_UTF8_TOPIC = Rejection(Reason.INVALID_TOPIC, "topic is not UTF-8")
# A PUBACK with the success reason and no properties (MQTT 5 lets both be left out): the
# fixed header (type, remaining length 2), then the packet id.
_PUBACK_HEAD = bytes((mqtt.PUBACK, 2))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message from the broker, as the consumer sees it."""

    topic: str  # a topic that is not UTF-8 is decoded with U+FFFD in place of the bad bytes
    payload: bytes
    mid: int  # packet id: meaningful only on the connection it came on
    qos: int
    generation: int  # that connection (Connection.generation when it arrived)
    rejection: Rejection | None = None  # refused before validation (NOT_UTF8_TOPIC)


class Connection:
    """The link to the broker: connect, reconnect, subscribe, and acks on the right connection.

    paho reconnects by itself (connect_async + loop_start, backoff 1 to 30 s); this layer only
    keeps count. Every connect and every disconnect starts a new generation.
    """

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        filters: Sequence[str],
        receive_maximum: int,
        *,
        name: str,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.filters = list(filters)
        self.receive_maximum = receive_maximum
        self.name = name  # who is connecting, in the logs ("gateway", "alert worker")
        self.on_link = on_link  # told True when connected, False when the link is lost
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        # Re-entrant: with the network loop stopped, paho writes a PUBACK from the caller's
        # thread, and a failed write calls on_disconnect right there, inside ack's lock.
        self._lock = threading.RLock()
        self._generation = 0
        self.client = persistent_client(settings, client_id)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe

    @property
    def generation(self) -> int:
        return self._generation

    def start(self) -> None:
        connect_persistent(self.client, self.settings, self.receive_maximum)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._link_lost()

    def acknowledge(self, mid: int, qos: int, generation: int) -> bool:
        """PUBACK message `mid` if the connection it came on (`generation`) is still the one.

        Packet ids belong to a connection: once the broker has lost a session, or shared a
        message out again, the same id names another message on the next connection, and
        acking it there would acknowledge a message nobody made durable. A message received
        on an old connection stays unacknowledged; the broker resends it on the new one and
        that copy gets acked. False when the ack was dropped for that reason.
        """
        if qos == 0:
            return True  # nothing to acknowledge
        with self._lock:  # no reconnect between the check and the PUBACK being queued
            if generation != self._generation:
                return False
            self.client.ack(mid, qos)
            return True

    def acknowledge_many(self, mids: Sequence[int], generation: int) -> bool:
        """PUBACK the QoS 1 messages `mids` of connection `generation` at once, as
        `acknowledge` would one by one, but queued as one write: paho's `ack` queues a packet,
        wakes its network thread through a socket pair and sends each PUBACK with its own
        system call, which at 1 reading per message cost more than validating the message. The
        PUBACKs go out back to back in one buffer (the broker reads a stream of packets); paho
        drops them, like any queued packet, if the link is lost first."""
        if not mids:
            return True
        with self._lock:  # no reconnect between the check and the packet being queued
            if generation != self._generation:
                return False
            packet = b"".join([_PUBACK_HEAD + mid.to_bytes(2, "big") for mid in mids])
            # paho's own queue (what `ack` ends in): the network thread writes it in order.
            self.client._packet_queue(mqtt.PUBACK, packet, 0, 0)
            return True

    def publish_wait(self, topic: str, payload: bytes, qos: int, timeout_s: float) -> bool:
        """Publish and wait for the broker's acknowledgement; False if it did not come."""
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):  # the message was not queued, or the link dropped
            return False
        return info.is_published()

    def _new_generation(self) -> None:
        with self._lock:
            self._generation += 1

    def _link_lost(self) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if self.on_link is not None:
            self.on_link(False)

    # --- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("%s: broker refused the connection: %s", self.name, reason)
            return
        # Before any message of this connection: paho handles CONNACK, then reads the next
        # packet, in this one thread.
        self._new_generation()
        log.info("%s connected to %s:%d as %s (session present: %s)", self.name,
                 self.settings.host, self.settings.port, self.client_id,
                 flags.session_present)  # fmt: skip
        # Subscribe on every connect: harmless when the session kept the subscriptions, and
        # needed when it did not (a new or expired session; and Mosquitto 2.0 does not restore
        # shared subscriptions after its restart, docs/gateway.md).
        client.subscribe([(f, 1) for f in self.filters])
        self.connected.set()
        if self.on_link is not None:
            self.on_link(True)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("%s: broker refused the subscription %s: %s", self.name, self.filters,
                      failed)  # fmt: skip
        else:
            log.info("%s subscribed to %s", self.name, ", ".join(self.filters))
            self.subscribed.set()

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        # Also a new generation here, not only at the next connect: paho's reconnect() drops
        # the PUBACKs still queued, but one queued after it would go out on the new
        # connection, before its on_connect has run.
        self._new_generation()
        self._link_lost()
        log.warning("%s disconnected from the broker (%s); paho reconnects", self.name, reason)


class Subscriber(Connection):
    """Every message to `consumer` as a `Delivery`; `ack(delivery)` once it is handled."""

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        filters: Sequence[str],
        receive_maximum: int,
        consumer: Callable[[Delivery], None],
        *,
        name: str,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(settings, client_id, filters, receive_maximum, name=name, on_link=on_link)
        self.consumer = consumer
        self.client.on_message = self._on_message

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge a handled delivery (see Connection.acknowledge for when it is not)."""
        return self.acknowledge(delivery.mid, delivery.qos, delivery.generation)

    def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        """Acknowledge handled deliveries together (Connection.acknowledge_many: one write per
        connection they came on). Returns how many were acknowledged (the others came on a
        connection that is gone: the broker sends them again)."""
        acked = 0
        mids: dict[int, list[int]] = {}  # generation -> packet ids (QoS 1)
        for d in deliveries:
            if d.qos == 1:
                mids.setdefault(d.generation, []).append(d.mid)
            else:  # QoS 0: nothing to send (the subscriptions ask for QoS 1 at most)
                acked += self.ack(d)
        for generation, ids in mids.items():
            if self.acknowledge_many(ids, generation):
                acked += len(ids)
        return acked

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # The generation is read without the lock: only this thread changes it while the
        # loop runs, so it is the connection this message came on.
        generation = self._generation
        try:
            topic, rejection = msg.topic, None
        except UnicodeDecodeError:
            # paho decodes the topic only when asked and raises here when it is not UTF-8. An
            # exception escaping a callback is re-raised in the network thread
            # (suppress_exceptions is False by default) and ends paho's loop: no message and
            # no reconnect after it. Mosquitto 2.0.11 disconnects a publisher that sends such
            # a topic (measured), but a bridge or another broker may pass one on: it goes to
            # the consumer as a rejection, kept, counted and acknowledged like any bad input.
            topic = msg._topic.decode("utf-8", "replace")  # paho keeps the raw bytes there
            rejection = NOT_UTF8_TOPIC
        self.consumer(Delivery(topic, bytes(msg.payload), msg.mid, msg.qos, generation, rejection))
