"""The servers' MQTT client: MQTT 5, a stable client id, a persistent session, manual acks.

The gateway and the alert worker both consume probe readings this way
(docs/technical-notes.md#paho-mqtt-sessions-and-acknowledgements): every
connect, the first of a process included, uses clean_start=False with a session expiry, so
the broker keeps what it queued for a stopped process (paho's default,
MQTT_CLEAN_START_FIRST_ONLY, would drop it at each process start); a message is acked only
once the consumer made it durable (`manual_ack=True`).

`LeanReceiveClient` is paho's client with a leaner receive path (issue 18; docs/gateway.md,
« Performance »): the socket read in chunks, where paho runs a `select` and three `recv` per
packet, and the usual PUBLISH handed to `on_message` without the per-message objects only
MQTT 5 properties or an outgoing message need. At 1 reading per message those cost the
gateway more than validating the message.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from coldchain.settings import MqttSettings

# What one read takes from the socket at most: a few hundred messages of a burst per call.
READ_CHUNK_BYTES = 65536


class _Received(mqtt.MQTTMessage):
    """A received QoS 1 PUBLISH without properties, as paho's `MQTTMessage` (`properties` is
    None); `info`, which only a message being sent needs, is made when asked for."""

    __slots__ = ()

    def __init__(  # paho's __init__ is not called: it makes the `info` (a Condition) up front
        self, topic: bytes, mid: int, payload: bytes, *, dup: bool, retain: bool
    ) -> None:
        self.timestamp = time.monotonic()
        self.state = mqtt.mqtt_ms_invalid
        self.dup, self.mid, self._topic, self.payload = dup, mid, topic, payload
        self.qos, self.retain, self.properties = 1, retain, None

    @property
    def info(self) -> mqtt.MQTTMessageInfo:  # type: ignore[override]
        return mqtt.MQTTMessageInfo(self.mid)


class _Matcher(MQTTMatcher):
    """paho's per-topic callbacks (`message_callback_add`), asked about every message: with
    none added, no match, without paho's `iter_match`. That one builds a recursive closure
    per call, a reference cycle (the function, its cells) that only the garbage collector
    frees: six cyclic objects per message, and at 5,000 messages a second most of the
    gateway's collector time (issue 18)."""

    def iter_match(self, topic: str) -> Iterator[Any]:
        if not self._root._children:  # nothing added: nothing can match
            return iter(())
        return super().iter_match(topic)  # type: ignore[no-untyped-call,no-any-return]


class LeanReceiveClient(mqtt.Client):
    """paho's client, its socket read in chunks of up to READ_CHUNK_BYTES, the usual PUBLISH
    dispatched without paho's per-message `Properties` (`_handle_publish`).

    paho's packet reader asks `_sock_recv` for one byte, then the length bytes, then the rest,
    and its loop runs `select` before every packet. Here `_sock_recv` hands out slices of one
    chunk read from the socket, and `loop_read` goes on reading packets while that chunk lasts:
    `select` must not be asked about bytes already read from the socket. Nothing else changes:
    paho still parses and dispatches every packet. The chunk belongs to one socket: a reconnect
    (a new socket) starts empty, so no byte of an old connection is read on a new one.
    """

    _chunk: bytes = b""
    _chunk_pos = 0
    _chunk_sock: object = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_message_filtered = _Matcher()  # type: ignore[no-untyped-call]

    def _sock_recv(self, bufsize: int) -> bytes:
        chunk, pos = self._chunk, self._chunk_pos
        if self._chunk_sock is not self._sock or pos >= len(chunk):
            self._chunk, self._chunk_pos, self._chunk_sock = b"", 0, self._sock
            # paho's own read: its errors (BlockingIOError when nothing is there, TLS's
            # want-read, a lost link) and its b"" at end of stream reach its reader as before.
            chunk = super()._sock_recv(READ_CHUNK_BYTES)
            if len(chunk) <= bufsize:
                return chunk
            self._chunk, pos = chunk, 0
        end = pos + bufsize
        self._chunk_pos = end
        return chunk[pos:end]

    def _handle_publish(self) -> MQTTErrorCode:
        """The usual PUBLISH (MQTT 5, QoS 1, acknowledged by the consumer, no properties: a
        probe's MQTT 3.1.1 publish as the broker forwards it) straight to `on_message`; any
        other through paho's own handler. paho builds a `Properties` per message, whose setup
        and `clear()` walk its table of 27 property names (about 10 us), and an outgoing
        message's `MQTTMessageInfo` with its Condition, neither of which a received message
        without properties needs."""
        header, packet = self._in_packet["command"], self._in_packet["packet"]
        if header & 0x06 == 0x02 and self._manual_ack and self._protocol == mqtt.MQTTv5:
            end = 2 + ((packet[0] << 8) | packet[1])  # the topic's end (its length first)
            # A topic, a packet id, then a property length of 0 (one byte), then the payload.
            if 2 < end and end + 2 < len(packet) and packet[end + 2] == 0:
                message = _Received(
                    bytes(packet[2:end]), (packet[end] << 8) | packet[end + 1],
                    bytes(memoryview(packet)[end + 3 :]), dup=bool(header & 0x08),
                    retain=bool(header & 0x01),
                )  # fmt: skip
                self._handle_on_message(message)  # paho's dispatch; the consumer acks later
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_publish()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # Packets still in the chunk: `select` would not see them (they left the socket).
        while (
            rc == MQTTErrorCode.MQTT_ERR_SUCCESS
            and self._chunk_pos < len(self._chunk)
            and self._sock is not None
            and self._chunk_sock is self._sock
        ):
            rc = super().loop_read(max_packets)
        return rc


def persistent_client(settings: MqttSettings, client_id: str) -> mqtt.Client:
    """A paho client with credentials, TLS and reconnect backoff; callbacks are the caller's."""
    client = LeanReceiveClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    if settings.tls_ca:
        client.tls_set(
            ca_certs=str(settings.tls_ca),
            certfile=str(settings.tls_cert) if settings.tls_cert else None,
            keyfile=str(settings.tls_key) if settings.tls_key else None,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_persistent(client: mqtt.Client, settings: MqttSettings, receive_maximum: int) -> None:
    """Connect in the background (paho reconnects by itself) and start the network loop."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = settings.session_expiry_s
    props.ReceiveMaximum = receive_maximum  # unacked messages the broker may send ahead
    client.connect_async(
        settings.host,
        settings.port,
        keepalive=settings.keepalive_s,
        clean_start=False,  # on every connect, including the first of this process
        properties=props,
    )
    client.loop_start()


def anonymous_accepted(settings: MqttSettings, timeout_s: float = 5.0) -> bool | None:
    """Whether the broker at settings.host:port lets a client in without a username (with TLS
    when `tls_ca` is set); None when it cannot be reached in `timeout_s`."""
    answered = threading.Event()
    accepted: list[bool] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        accepted.append(not reason.is_failure)
        answered.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"coldchain-anonymous-check-{secrets.token_hex(4)}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    if settings.tls_ca:
        client.tls_set(ca_certs=str(settings.tls_ca))
    client.on_connect = on_connect
    try:
        client.connect(settings.host, settings.port, keepalive=10, clean_start=True)
    except OSError:
        return None
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            return None
        return accepted[0]
    finally:
        client.disconnect()  # before loop_stop: the network thread then ends at once
        client.loop_stop()
