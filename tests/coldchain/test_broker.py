"""The shipped Mosquitto configuration: per-probe passwords managed at run time."""

from __future__ import annotations

import queue
import signal
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coldchain import broker
from tests.harness.servers import Mosquitto
from tests.support.waiting import wait_until


def connect_result(server: Mosquitto, username: str, password: str) -> int:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    results: queue.Queue[int] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, rc, _p: results.put(rc.value)
    client.connect(server.host, server.port)
    client.loop_start()
    try:
        return results.get(timeout=10)
    finally:
        client.disconnect()  # before loop_stop: the network thread then ends at once
        client.loop_stop()


def test_probe_added_and_removed_while_the_broker_runs(
    mosquitto_factory: Callable[..., Mosquitto],
) -> None:
    server = mosquitto_factory("acl", probe_users=())
    assert server.files is not None and server.proc is not None
    password = broker.new_password()
    broker.set_password(server.files, "cold-room-3", password)
    server.proc.send_signal(signal.SIGHUP)  # Mosquitto re-reads its password file
    wait_until(lambda: connect_result(server, "cold-room-3", password) == 0, 10, "user added")
    broker.remove_user(server.files, "cold-room-3")
    server.proc.send_signal(signal.SIGHUP)
    refused = (0x86, 0x87)
    wait_until(lambda: connect_result(server, "cold-room-3", password) in refused, 10, "removed")


@pytest.mark.parametrize("name", ["../etc", "Probe", "a b", "x" * 40, "probe\n01", ""])
def test_usernames_are_probe_ids_or_service_users(name: str, tmp_path) -> None:
    files = broker.write_config(tmp_path, 1883)
    with pytest.raises(ValueError, match="not a probe id"):
        broker.set_password(files, name, "pw")


def test_generated_config_raises_queues_and_persists(tmp_path) -> None:
    files = broker.write_config(tmp_path, 1883)
    config = files.config.read_text()
    assert "max_queued_messages 1000000" in config
    assert "persistence true" in config and "autosave_interval 1" in config
    assert "allow_anonymous false" in config
    assert files.passwords.stat().st_mode & 0o077 == 0  # nobody else reads the hashes
