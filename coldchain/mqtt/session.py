"""The servers' MQTT client: MQTT 5, a stable client id, a persistent session, manual acks.

The gateway and the alert worker both consume probe readings this way
(docs/technical-notes.md#paho-mqtt-sessions-and-acknowledgements): every
connect, the first of a process included, uses clean_start=False with a session expiry, so
the broker keeps what it queued for a stopped process (paho's default,
MQTT_CLEAN_START_FIRST_ONLY, would drop it at each process start); a message is acked only
once the consumer made it durable (`manual_ack=True`).
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

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
