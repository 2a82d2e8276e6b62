"""The shared MQTT subscriber on a real Mosquitto, through a relay that can cut the link and
corrupt a topic (tests/harness/mqtt_proxy.py): a topic that is not UTF-8 reaches the consumer
as a rejection and the subscriber goes on; an ack from before a reconnect never goes out on
the new connection, and the copy the broker resends is acked instead; a burst larger than the
subscriber's read chunk arrives whole and in order."""

from __future__ import annotations

import gc
import queue
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from coldchain.mqtt.session import persistent_client
from coldchain.mqtt.subscriber import NOT_UTF8_TOPIC, Delivery, Subscriber
from coldchain.protocol import Reason
from coldchain.settings import MqttSettings
from tests.harness.mqtt_proxy import MARKER, MqttProxy
from tests.harness.servers import Mosquitto

FILTER = "cc/v1/dev/+/up/readings"


def wait_until(what, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def inbox() -> queue.Queue[Delivery]:
    return queue.Queue()


@pytest.fixture
def subscriber(mqtt_proxy: MqttProxy, inbox: queue.Queue[Delivery]) -> Iterator[Subscriber]:
    sub = Subscriber(
        MqttSettings(port=mqtt_proxy.port, managed=False),
        "subscriber-test",
        [FILTER],
        10,
        inbox.put,
        name="test",
    )
    sub.start()
    assert sub.subscribed.wait(15)
    yield sub
    sub.stop()


@pytest.fixture
def publish(mosquitto: Mosquitto) -> Iterator[object]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="subscriber-test-pub")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()

    def send(probe_id: str, payload: bytes) -> None:
        client.publish(f"cc/v1/dev/{probe_id}/up/readings", payload, qos=1).wait_for_publish(5)

    yield send
    client.disconnect()
    client.loop_stop()


def test_a_topic_that_is_not_utf8_reaches_the_consumer_as_a_rejection(
    subscriber: Subscriber, inbox: queue.Queue[Delivery], mqtt_proxy: MqttProxy, publish
) -> None:
    publish(MARKER.decode(), b"first")
    publish("van1", b"second")
    bad = inbox.get(timeout=10)
    assert bad.rejection == NOT_UTF8_TOPIC and bad.rejection.reason is Reason.INVALID_TOPIC
    assert bad.topic == "cc/v1/dev/bad\ufffdtopic/up/readings"  # kept, readable, for the record
    assert bad.payload == b"first" and bad.qos == 1
    # paho's network thread survived it: the next message still comes, and both are acked.
    good = inbox.get(timeout=10)
    assert (good.topic, good.payload, good.rejection) == (
        "cc/v1/dev/van1/up/readings",
        b"second",
        None,
    )
    assert subscriber.ack(bad) and subscriber.ack(good)
    wait_until(lambda: sorted(mqtt_proxy.acked(1)) == sorted([bad.mid, good.mid]))
    assert subscriber.connected.is_set()
    # Acknowledged means gone from the session: nothing comes back after a reconnect.
    mqtt_proxy.cut()
    wait_until(lambda: mqtt_proxy.links == 2 and subscriber.subscribed.is_set())
    publish("van1", b"third")
    assert inbox.get(timeout=10).payload == b"third"
    assert inbox.empty()


def test_an_ack_from_before_a_reconnect_is_not_sent_on_the_new_connection(
    subscriber: Subscriber, inbox: queue.Queue[Delivery], mqtt_proxy: MqttProxy, publish
) -> None:
    publish("van1", b"in flight")
    old = inbox.get(timeout=10)
    assert old.generation == subscriber.generation
    mqtt_proxy.cut()
    wait_until(lambda: not subscriber.connected.is_set())
    assert not subscriber.ack(old)  # the link it came on is gone: dropped, not queued
    assert subscriber.ack_many([old]) == 0  # the same when acknowledged with others
    # Same client id, persistent session: the broker sends the unacknowledged message again.
    again = inbox.get(timeout=15)
    assert mqtt_proxy.links == 2
    assert again.payload == b"in flight" and again.generation > old.generation
    assert not subscriber.ack(old)  # still dropped once the new connection is up
    time.sleep(0.3)
    assert mqtt_proxy.acked(1) == [] and mqtt_proxy.acked(2) == []
    assert subscriber.ack(again)
    wait_until(lambda: mqtt_proxy.acked(2) == [again.mid])
    # That ack counted: after one more reconnect the broker has nothing left to resend.
    mqtt_proxy.cut()
    wait_until(lambda: mqtt_proxy.links == 3 and subscriber.subscribed.is_set())
    publish("van1", b"after")
    assert inbox.get(timeout=10).payload == b"after"
    assert inbox.empty()


def test_a_burst_across_read_chunks_arrives_whole_and_in_order(
    subscriber: Subscriber,
    inbox: queue.Queue[Delivery],
    mqtt_proxy: MqttProxy,
    mosquitto: Mosquitto,
) -> None:
    """The subscriber reads the socket in chunks and decodes the usual PUBLISH itself
    (coldchain/mqtt/session.py): ten messages in flight of 3 to 42 KB cross the 64 KB chunks
    mid-packet, and every third carries an MQTT 5 property (paho's own decoding). All arrive
    whole and in order, and are acknowledged together, one write per batch."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="subscriber-test-burst",
                         protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    payloads = [bytes([65 + i % 26]) * (3000 + 997 * i) for i in range(40)]
    for i, payload in enumerate(payloads):
        properties = None
        if i % 3 == 0:
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = ("n", str(i))
        client.publish("cc/v1/dev/van1/up/readings", payload, qos=1, properties=properties)
    got: list[Delivery] = []
    while len(got) < len(payloads):  # ten in flight at most (the fixture's receive maximum)
        batch = [inbox.get(timeout=10)]
        while not inbox.empty():
            batch.append(inbox.get_nowait())
        assert subscriber.ack_many(batch) == len(batch)
        got += batch
    assert [d.payload for d in got] == payloads
    assert {(d.topic, d.qos, d.rejection) for d in got} == {("cc/v1/dev/van1/up/readings", 1, None)}
    wait_until(lambda: sorted(mqtt_proxy.acked(1)) == sorted(d.mid for d in got))
    client.disconnect()
    client.loop_stop()


def test_receiving_leaves_nothing_for_the_garbage_collector(
    subscriber: Subscriber, inbox: queue.Queue[Delivery], mosquitto: Mosquitto
) -> None:
    """paho's topic matcher, asked about every message, made a reference cycle per message
    (a recursive closure) that only the garbage collector frees: six cyclic objects per
    message, most of the gateway's collector time at full rate (issue 18). Received and
    acknowledged with the collector off, 300 messages now leave (almost) nothing for it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="subscriber-test-gc",
                         protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    gc.collect()
    gc.disable()
    try:
        got: list[Delivery] = []
        for i in range(300):
            client.publish("cc/v1/dev/van1/up/readings", b"%d" % i, qos=1)
        while len(got) < 300:
            batch = [inbox.get(timeout=10)]
            while not inbox.empty():
                batch.append(inbox.get_nowait())
            subscriber.ack_many(batch)
            got += batch
        del batch, got
        unreachable = gc.collect()
    finally:
        gc.enable()
        client.disconnect()
        client.loop_stop()
    assert unreachable < 100, unreachable  # 1,800 and more with paho's matcher


def test_a_per_topic_callback_still_matches() -> None:
    """The matcher that spares the collector (coldchain/mqtt/session.py `_Matcher`) still
    finds what `message_callback_add` added, as paho's does."""
    client = persistent_client(MqttSettings(managed=False), "matcher-test")
    assert list(client._on_message_filtered.iter_match("cc/v1/dev/van1/up/readings")) == []
    seen = object()
    client.message_callback_add("cc/v1/dev/+/up/#", seen)  # type: ignore[arg-type]
    assert list(client._on_message_filtered.iter_match("cc/v1/dev/van1/up/readings")) == [seen]
    assert list(client._on_message_filtered.iter_match("cc/v1/srv/x")) == []
