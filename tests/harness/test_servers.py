"""Each harness fixture proves it starts the real server and that the server does its job."""

from __future__ import annotations

import json
import queue
import ssl
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.harness.servers import (
    GATEWAY_USER,
    SERVER_USER,
    InfluxDB1,
    MicroPython,
    Mosquitto,
    VictoriaMetrics,
)

TIMEOUT = 10


def connect(
    broker: Mosquitto, client_id: str, username: str | None = None, tls: bool = False
) -> tuple[mqtt.Client, queue.Queue[mqtt.MQTTMessage]]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    client.on_message = lambda _c, _u, msg: inbox.put(msg)
    if username is not None:
        client.username_pw_set(username, broker.users[username])
    if tls:
        assert broker.ca_file is not None
        client.tls_set(ca_certs=str(broker.ca_file))
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client, inbox


def subscribe(client: mqtt.Client, topic_filter: str) -> None:
    """Subscribe and wait for the SUBACK: a message published before the broker has the
    subscription is not delivered to it (seen once in CI)."""
    granted: queue.Queue[list[int]] = queue.Queue()
    client.on_subscribe = lambda _c, _u, _mid, codes, _p: granted.put([c.value for c in codes])
    info = client.subscribe(topic_filter, qos=1)
    assert info[0] == mqtt.MQTT_ERR_SUCCESS
    assert granted.get(timeout=TIMEOUT) == [1]  # QoS 1 granted


def test_anonymous_broker_round_trip(mosquitto: Mosquitto) -> None:
    sub, inbox = connect(mosquitto, "sub")
    subscribe(sub, "cc/v1/dev/+/up/readings")
    pub, _ = connect(mosquitto, "pub")
    pub.publish("cc/v1/dev/p1/up/readings", b"hello", qos=1).wait_for_publish(TIMEOUT)
    msg = inbox.get(timeout=TIMEOUT)
    assert (msg.topic, msg.payload) == ("cc/v1/dev/p1/up/readings", b"hello")
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()


def test_acl_probe_cannot_publish_as_another_probe(mosquitto_acl: Mosquitto) -> None:
    gateway, inbox = connect(mosquitto_acl, "gw", GATEWAY_USER)
    subscribe(gateway, "cc/v1/dev/+/up/#")
    probe, _ = connect(mosquitto_acl, "probe-01", "probe-01")
    # Let the subscription settle before publishing.
    probe.publish("cc/v1/dev/probe-01/up/readings", b"mine", qos=1).wait_for_publish(TIMEOUT)
    assert inbox.get(timeout=TIMEOUT).payload == b"mine"

    # MQTT 5: the broker answers PUBACK with "not authorized"; nothing reaches the gateway.
    acks: queue.Queue[int] = queue.Queue()
    probe.on_publish = lambda _c, _u, _mid, rc, _p: acks.put(rc.value)
    probe.publish("cc/v1/dev/probe-02/up/readings", b"forged", qos=1).wait_for_publish(TIMEOUT)
    assert acks.get(timeout=TIMEOUT) == 0x87  # Not authorized
    probe.publish("cc/v1/dev/probe-01/up/readings", b"after", qos=1).wait_for_publish(TIMEOUT)
    assert inbox.get(timeout=TIMEOUT).payload == b"after"  # the forged one never arrived
    assert inbox.empty()
    for c in (gateway, probe):
        c.disconnect()
        c.loop_stop()


def test_acl_probe_reads_only_its_own_down_topics(mosquitto_acl: Mosquitto) -> None:
    probe, inbox = connect(mosquitto_acl, "probe-01", "probe-01")
    granted: queue.Queue[list[int]] = queue.Queue()
    probe.on_subscribe = lambda _c, _u, _mid, codes, _p: granted.put([c.value for c in codes])
    probe.subscribe("cc/v1/dev/probe-02/down/#", qos=1)
    probe.subscribe("cc/v1/dev/probe-01/down/#", qos=1)
    # Mosquitto 2.0 grants the SUBSCRIBE but never delivers what the ACL does not allow.
    granted.get(timeout=TIMEOUT)
    granted.get(timeout=TIMEOUT)
    server, _ = connect(mosquitto_acl, "srv", SERVER_USER)
    server.publish("cc/v1/dev/probe-02/down/alarm", b"not for you", qos=1).wait_for_publish(TIMEOUT)
    server.publish("cc/v1/dev/probe-01/down/alarm", b"for you", qos=1).wait_for_publish(TIMEOUT)
    assert inbox.get(timeout=TIMEOUT).payload == b"for you"
    assert inbox.empty()
    for c in (probe, server):
        c.disconnect()
        c.loop_stop()


def test_acl_refuses_wrong_password(mosquitto_acl: Mosquitto) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=mqtt.MQTTv5)
    client.username_pw_set("probe-01", "wrong")
    results: queue.Queue[int] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, rc, _p: results.put(rc.value)
    client.connect(mosquitto_acl.host, mosquitto_acl.port)
    client.loop_start()
    assert results.get(timeout=TIMEOUT) in (0x86, 0x87)  # bad credentials / not authorized
    client.disconnect()  # no reconnection attempts; the network thread ends at once
    client.loop_stop()


def test_tls_broker_round_trip_and_plain_refused(mosquitto_tls: Mosquitto) -> None:
    sub, inbox = connect(mosquitto_tls, "tls-sub", tls=True)
    subscribe(sub, "t/#")
    pub, _ = connect(mosquitto_tls, "tls-pub", tls=True)
    pub.publish("t/x", b"secret", qos=1).wait_for_publish(TIMEOUT)
    assert inbox.get(timeout=TIMEOUT).payload == b"secret"
    # The certificate is for 127.0.0.1 and signed by the generated CA only.
    context = ssl.create_default_context()
    plain = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plain", protocol=mqtt.MQTTv5)
    plain.tls_set_context(context)
    with pytest.raises(ssl.SSLError):
        plain.connect(mosquitto_tls.host, mosquitto_tls.port)
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()


def test_persistent_session_survives_broker_restart(mosquitto: Mosquitto) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="durable", protocol=mqtt.MQTTv5)
    sub.connect(mosquitto.host, mosquitto.port, clean_start=False, properties=props)
    sub.loop_start()
    subscribe(sub, "q/#")
    sub.disconnect()
    sub.loop_stop()
    pub, _ = connect(mosquitto, "pub")
    for i in range(5):
        pub.publish("q/x", str(i).encode(), qos=1).wait_for_publish(TIMEOUT)
    pub.disconnect()
    pub.loop_stop()
    mosquitto.restart()  # persistence on: the queued messages are on disk
    inbox: queue.Queue[bytes] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="durable", protocol=mqtt.MQTTv5)
    sub.on_message = lambda _c, _u, msg: inbox.put(bytes(msg.payload))
    sub.connect(mosquitto.host, mosquitto.port, clean_start=False, properties=props)
    sub.loop_start()
    assert [inbox.get(timeout=TIMEOUT) for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    sub.disconnect()
    sub.loop_stop()


def test_influxdb1_write_and_query(influxdb1: InfluxDB1) -> None:
    influxdb1.query("CREATE DATABASE coldchain")
    lines = b"reading,probe=p1,channel=air value=3.5,seq=1i 1795320000000000000\n" * 2
    req = urllib.request.Request(f"{influxdb1.url}/write?db=coldchain&precision=ns", data=lines)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204
    result = influxdb1.query("SELECT count(value) FROM reading")
    series = result["results"][0]["series"][0]  # type: ignore[index]
    assert series["values"][0][1] == 1  # same series and time: written twice, stored once


def test_victoria_metrics_accepts_influxdb_client_writes(victoria_metrics: VictoriaMetrics) -> None:
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS

    line = "reading,probe=p1,channel=air value=3.5 1795320000000000000"
    with InfluxDBClient(url=victoria_metrics.url, token="unused", org="coldchain") as client:
        write = client.write_api(write_options=SYNCHRONOUS)
        write.write(bucket="coldchain", record=[line, line])
    series = victoria_metrics.export('{__name__="reading_value"}')
    assert len(series) == 1
    assert series[0]["values"] == [3.5]  # -dedup.minScrapeInterval keeps one copy
    assert series[0]["metric"] == {"__name__": "reading_value", "probe": "p1", "channel": "air"}


def test_micropython_runs_firmware_style_code(micropython: MicroPython, tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("def double(x):\n    return 2 * x\n")
    result = micropython.run(
        "import sys, json, helper; print(json.dumps([sys.implementation.name, helper.double(21)]))",
        module_path=[tmp_path],
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["micropython", 42]
