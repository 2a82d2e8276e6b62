"""Client ids bound to accounts (issue 17): a probe's password used with the gateway's client
id cannot open, discard or take over the gateway's persistent session, on real Mosquitto
configured by coldchain/broker.py (`use_username_as_clientid`), and no probe may be
registered under a server account's name."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from coldchain import broker, protocol
from coldchain.commands.up import services
from coldchain.settings import Settings
from tests.harness.servers import GATEWAY_USER, SERVER_USER, Mosquitto

QUEUED = 100


class Session:
    """An MQTT 5 client that records its CONNACK, its disconnection and what it receives."""

    def __init__(self, client_id: str, user: str, password: str) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(user, password)
        self.connacks: queue.Queue[tuple[int, bool]] = queue.Queue()
        self.received: list[bytes] = []
        self.all_in = threading.Event()
        self.dropped = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda *_: self.dropped.set()

    def _on_connect(
        self, _c: object, _u: object, flags: mqtt.ConnectFlags, rc: object, _p: object
    ) -> None:
        self.connacks.put((rc.value, flags.session_present))  # type: ignore[attr-defined]

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        self.received.append(bytes(message.payload))
        if len(self.received) >= QUEUED:
            self.all_in.set()

    def connect(self, broker_: Mosquitto, clean_start: bool) -> tuple[int, bool]:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect(broker_.host, broker_.port, clean_start=clean_start, properties=props)
        self.client.loop_start()
        return self.connacks.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()  # before loop_stop: the network thread then ends at once
        self.client.loop_stop()


def test_a_probe_cannot_take_the_gateways_session_and_the_queue_survives(
    mosquitto_factory: Callable[..., Mosquitto],
) -> None:
    server = mosquitto_factory("acl")
    gateway_password = server.users[GATEWAY_USER]
    # The gateway opens its persistent session, subscribes, and goes away.
    gateway = Session(GATEWAY_USER, GATEWAY_USER, gateway_password)
    assert gateway.connect(server, clean_start=True)[0] == 0
    gateway.client.subscribe("cc/v1/dev/+/up/#", qos=1)[1]
    probe = Session("probe-01", "probe-01", server.users["probe-01"])
    assert probe.connect(server, clean_start=False)[0] == 0
    gateway.close()
    # 100 readings queued for it while it is away.
    topic = protocol.topic("probe-01", protocol.Kind.READINGS)
    for n in range(QUEUED):
        probe.client.publish(topic, f"{n}".encode(), qos=1).wait_for_publish(10)
    probe.close()

    # The attack: probe-01's password, the gateway's client id, a clean start (which would
    # discard the gateway's queued session), and staying connected.
    attacker = Session(GATEWAY_USER, "probe-01", server.users["probe-01"])
    code, session_present = attacker.connect(server, clean_start=True)
    assert code == 0 and not session_present  # in as probe-01, on probe-01's own session
    attacker.client.subscribe("cc/v1/dev/+/up/#", qos=1)  # refused by the ACL anyway
    # The gateway's account with a probe's password is refused outright.
    impostor = Session(GATEWAY_USER, GATEWAY_USER, server.users["probe-01"])
    assert impostor.connect(server, clean_start=True)[0] in (0x86, 0x87)
    impostor.close()

    # The gateway comes back: its session is there, with every queued reading, and the
    # attacker's connection does not knock it off.
    back = Session(GATEWAY_USER, GATEWAY_USER, gateway_password)
    code, session_present = back.connect(server, clean_start=False)
    try:
        assert code == 0 and session_present
        assert back.all_in.wait(15), f"{len(back.received)} of {QUEUED} received"
        assert sorted(int(p) for p in back.received) == list(range(QUEUED))
        assert not back.dropped.is_set() and not attacker.dropped.is_set()
        assert attacker.received == []
    finally:
        back.close()
        attacker.close()


@pytest.mark.parametrize("name", [GATEWAY_USER, SERVER_USER])
def test_no_probe_is_registered_under_a_server_accounts_name(name: str, tmp_path: Path) -> None:
    files = broker.write_config(tmp_path, 1883)
    with pytest.raises(ValueError, match="compte d'un service"):
        broker.set_password(files, name, "pw")
    with pytest.raises(ValueError, match="compte d'un service"):
        broker.remove_user(files, name)


def test_the_managed_brokers_accounts_are_the_servers_client_ids(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        gateway={"client_id": "gw-cave"},
        alerting={"client_id": "alertes-cave"},
    )
    by_name = {s.name: s for s in services(settings)}
    assert by_name["gateway"].env["COLDCHAIN_MQTT__USERNAME"] == "gw-cave"
    assert by_name["alert-worker"].env["COLDCHAIN_MQTT__USERNAME"] == "alertes-cave"
    files = broker.BrokerFiles(tmp_path.resolve() / "broker")
    assert broker.service_accounts(files) == ["gw-cave", "alertes-cave"]
    users = {line.split(":")[0] for line in files.passwords.read_text().splitlines()}
    assert users == {"gw-cave", "alertes-cave"}
    # Back to the default ids: the old accounts leave the broker, the new ones come in.
    services(Settings(data_dir=tmp_path))
    users = {line.split(":")[0] for line in files.passwords.read_text().splitlines()}
    assert users == {"coldchain-gateway-1", "coldchain-alerts-1"}
    with pytest.raises(ValueError, match="compte d'un service"):
        broker.set_password(files, "coldchain-gateway-1", "pw")
