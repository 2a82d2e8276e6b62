"""The servers' MQTT client: MQTT 5, a stable client id, a persistent session, manual acks.

The gateway and the alert worker both consume probe readings this way
(docs/technical-notes.md#paho-mqtt-sessions-and-acknowledgements): every
connect, the first of a process included, uses clean_start=False with a session expiry, so
the broker keeps what it queued for a stopped process (paho's default,
MQTT_CLEAN_START_FIRST_ONLY, would drop it at each process start); a message is acked only
once the consumer made it durable (`manual_ack=True`).
"""

from __future__ import annotations

import secrets
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from coldchain.settings import MqttSettings


def persistent_client(settings: MqttSettings, client_id: str) -> mqtt.Client:
    """A paho client with credentials, TLS and reconnect backoff; callbacks are the caller's."""
    client = mqtt.Client(
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
