"""The probe over MQTT: real firmware (unix port) against a real Mosquitto with the probe ACL."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coldchain import protocol
from tests.conftest import FIRMWARE
from tests.firmware.conftest import (
    FW_TESTS,
    Collector,
    SimProbe,
    now_ms,
    probe_config,
    scenario,
)
from tests.harness.servers import MicroPython, Mosquitto

CONFIG_TOPIC = "cc/v1/dev/probe-01/down/config"
ALARM_TOPIC = "cc/v1/dev/probe-01/down/alarm"


def _seqs(readings: list[dict[str, Any]]) -> list[int]:
    return [r["s"] for r in readings]


def test_steady_run_contract_payloads_and_contiguous_sequence(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    door = [[0, 0], [60, 1], [90, 0]]  # opened one minute after start, for 30 s
    sc = scenario(supply=12.4, rssi=-61, door=door)
    probe = sim(probe_config(mosquitto_acl, status_s=60), sc)
    probe.start()
    server.wait_for(lambda: len(server.readings()) >= 40)
    probe.stop()
    # The broker publishes the last will once it sees the connection drop: wait for it.
    server.wait_for(
        lambda: any(
            t.endswith("/up/status") and b'"online":false' in p.replace(b" ", b"")
            for t, p, _ in server.messages
        )
    )
    password = mosquitto_acl.users["probe-01"].encode()
    assert not any(password in p for _, p, _ in server.messages)  # secrets never published
    for topic, payload, retain in list(server.messages):
        if topic.endswith("/up/readings"):
            batch = protocol.parse_readings(payload, now_ms(), topic)
            assert isinstance(batch, protocol.ReadingsBatch), batch
            assert batch.probe_id == "probe-01" and not retain
        else:
            status = protocol.parse_status(payload, now_ms(), topic)
            assert isinstance(status, protocol.ProbeStatus), status
    seqs = _seqs(server.readings())
    assert seqs == list(range(1, len(seqs) + 1))
    channels = {r["c"] for r in server.readings()}
    assert channels == {"air", "product", "door", "battery"}
    # Door changes recorded when they happen, not at the next sample.
    doors = [(r["v"], r["t"]) for r in server.readings() if r["c"] == "door"]
    assert [v for v, _ in doors] == [0, 1, 0]
    # (polled every 100 ms of host time: 6 scenario seconds at 60x)
    assert abs(doors[2][1] - doors[1][1] - 30_000) <= 8_000
    # One sample every 10 scenario seconds, stamped in device time (whole seconds; at 60x
    # speed a 17 ms scheduling delay on the host is one scenario second).
    air = [r["t"] for r in server.readings() if r["c"] == "air"]
    steps = [b - a for a, b in itertools.pairwise(air)]
    assert all(0 < s <= 20_000 for s in steps), steps  # late samples are caught up, none missed
    assert abs((air[-1] - air[0]) / len(steps) - 10_000) <= 1_000  # and no drift
    statuses = [json.loads(p) for t, p, _ in server.messages if t.endswith("/up/status")]
    online = [s for s in statuses if s["online"]]
    assert online and online[0]["mode"] == "normal" and online[0]["supply"] == 12.4
    assert len(online) >= 2  # on connect, then every status_s (60 s of probe time)
    assert statuses[-1] == {"v": 1, "id": "probe-01", "online": False}  # the last will


def test_broker_down_five_minutes_every_reading_arrives_in_order(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    probe = sim(probe_config(mosquitto_acl, live_threshold=100000), scenario())
    probe.start()
    server.wait_for(lambda: len(server.readings()) >= 6)
    mosquitto_acl.stop()
    time.sleep(5)  # 5 scenario minutes at 60x: 30 samples (60 readings) wait in flash
    probe.assert_alive()
    mosquitto_acl.start()
    server.wait_for(lambda: len(server.readings()) >= 90, timeout=30)
    probe.stop()
    assert sum(line.startswith("LOG boot") for line in probe.lines) == 1  # no restart
    assert any("mqtt link down" in line for line in probe.lines)
    seqs = _seqs(server.readings())
    first_seen = list(dict.fromkeys(seqs))  # at-least-once: a resend after a lost PUBACK is fine
    assert first_seen == list(range(1, len(first_seen) + 1))


def test_probe_cannot_publish_as_another_probe(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    cfg = probe_config(mosquitto_acl, probe_id="probe-02")  # probe-01's credentials
    probe = sim(cfg, scenario())
    probe.start()
    probe.wait_line(lambda line: "is not the probe id" in line)
    # It keeps measuring into flash, and nothing reaches the broker under another probe's name.
    time.sleep(2)
    probe.stop()
    assert not server.messages
    assert len(list((probe.data / "queue").glob("*.seg"))) == 1


def test_retained_config_is_applied_and_survives_a_restart(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    config = protocol.ProbeConfig(
        interval_s=30, alarms={"air": protocol.ChannelAlarm(high=4.0, delay_s=120)}
    )
    server.publish(CONFIG_TOPIC, protocol.encode_config(config), retain=True)
    sc = scenario(series={"air": [[0, 3.0], [300, 3.0], [310, 9.0]], "product": [[0, 3.0]]})
    probe = sim(probe_config(mosquitto_acl, interval_s=10), sc)
    probe.start()
    probe.wait_line(lambda line: "config applied: interval 30 s" in line)
    server.wait_for(lambda: sum(r["c"] == "air" for r in server.readings()) >= 4)
    air = [r["t"] for r in server.readings() if r["c"] == "air"]
    steps = [b - a for a, b in itertools.pairwise(air[1:])]
    assert all(0 < s <= 60_000 for s in steps), steps
    assert abs((air[-1] - air[1]) / len(steps) - 30_000) <= 2_000
    probe.kill()
    assert json.loads((probe.data / "probe_config.json").read_text())["interval"] == 30

    # Restart with no broker at all: the thresholds from flash still raise the local alarm.
    mosquitto_acl.stop()
    mark = probe.mark()
    probe.start()
    probe.wait_line(lambda line: line == "EV buzzer 1", timeout=20, since=mark)
    probe.wait_line(lambda line: line == "EV led 1", since=mark)
    probe.wait_line(lambda line: line.startswith("EV display ALARME air 9.0/4.0"), since=mark)


@pytest.fixture
def publishing(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> tuple[Collector, SimProbe]:
    """The server side and a probe with the default configuration, once 3 readings came."""
    probe = sim(probe_config(mosquitto_acl), scenario())
    probe.start()
    server.wait_for(lambda: len(server.readings()) >= 3)
    return server, probe


def test_down_alarm_drives_buzzer_and_display(publishing: tuple[Collector, SimProbe]) -> None:
    server, probe = publishing
    on = protocol.AlarmCommand(on=True, text="Zone A 6.2 °C > 4 °C", alert_id="a-1")
    server.publish(ALARM_TOPIC, protocol.encode_alarm(on))
    probe.wait_line(lambda line: line == "EV buzzer 1")
    probe.wait_line(lambda line: line == "EV display Zone A 6.2 °C > 4 °C")
    mark = probe.mark()
    probe.press_button()  # the driver acknowledges: buzzer off, LED on, reported in status
    probe.wait_line(lambda line: line == "EV buzzer 0", since=mark)

    def silenced() -> bool:
        return any(
            t.endswith("/up/status") and json.loads(p).get("silenced") is True
            for t, p, _ in list(server.messages)
        )

    server.wait_for(silenced)
    mark = probe.mark()
    server.publish(ALARM_TOPIC, protocol.encode_alarm(protocol.AlarmCommand(on=False)))
    probe.wait_line(lambda line: line == "EV led 0", since=mark)
    assert probe.events("buzzer")[-1] == "0"


HOSTILE_CONFIGS: list[bytes] = [
    b"interval=60",
    b"\xff\xfe{not utf8",
    b'{"v":1,"interval":"60"}',
    b'{"v":1,"interval":60,"alarm":{"air":{"high":NaN,"delay":0}}}',
    b'{"v":1,"interval":60,"alarm":[[[[[[[[1]]]]]]]]}',
    b'{"v":1,"interval":60,"interval":61}',
    b'{"v":1,"interval":60,"wifi_password":"x"}',
    b'{"v":1,"interval":60,"alarm":{"air":{"high":1e999,"delay":0}}}',
    b"[]",
    b"",
]


def test_hostile_downlink_is_rejected_counted_kept_and_never_crashes(
    publishing: tuple[Collector, SimProbe],
) -> None:
    server, probe = publishing
    for payload in HOSTILE_CONFIGS:
        server.publish(CONFIG_TOPIC, payload)
    server.publish(CONFIG_TOPIC, b'{"v":1,"interval":60,"x":"' + b"y" * 40_000 + b'"}')
    server.publish(ALARM_TOPIC, b'{"v":1,"on":"yes"}')
    server.publish(ALARM_TOPIC, b'{"v":1,"on":true,"text":"' + b"x" * 65 + b'"}')
    server.publish(CONFIG_TOPIC, b'{"v":1,"interval":20}')
    probe.wait_line(lambda line: "config applied: interval 20 s" in line)
    probe.assert_alive()
    rejected = [line for line in probe.lines if "rejected:" in line]
    assert len(rejected) == len(HOSTILE_CONFIGS) + 2
    assert any("oversize config message dropped" in line for line in probe.lines)
    kept = (probe.data / "rejected.log").read_bytes().splitlines()
    assert len(kept) == len(HOSTILE_CONFIGS) + 2
    assert kept[0].startswith(b"config invalid_json interval=60")
    # Readings kept flowing through it all.
    count = len(server.readings())
    server.wait_for(lambda: len(server.readings()) > count + 3)


def test_probe_killed_during_uploads_loses_no_reading(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    # The whole probe (sampler, queue, MQTT uplink) killed at random moments, 12 times.
    rng = random.Random(7)
    # Kills this fast are a boot loop: lift the guard, or safe mode would (rightly) stop the uplink.
    cfg = probe_config(mosquitto_acl, batch=5, max_unstable_boots=100)
    probe = sim(cfg, scenario())
    for _ in range(12):
        probe.start()
        time.sleep(rng.uniform(0.3, 1.2))
        probe.kill()
    mark = probe.mark()
    probe.start()
    probe.wait_line(lambda line: line.startswith("LOG boot 13 "), since=mark)

    def boots() -> set[int]:
        return {json.loads(p)["boot"] for t, p, _ in server.messages if t.endswith("/readings")}

    def caught_up() -> bool:
        seqs = {r["s"] for r in server.readings()}
        contiguous = bool(seqs) and seqs == set(range(1, max(seqs) + 1))
        return contiguous and max(seqs) > 60 and 13 in boots()

    server.wait_for(caught_up, timeout=30)
    probe.assert_alive()
    probe.stop()
    readings = server.readings()
    assert len(boots()) > 5  # uploads really were cut by the kills and resumed
    # Same reading resent after a kill between PUBACK and cursor: same time, same value.
    by_seq: dict[int, tuple[str, int]] = {}
    for r in readings:
        assert by_seq.setdefault(r["s"], (r["c"], r["t"])) == (r["c"], r["t"])


def test_long_backlog_goes_oldest_first_while_live_readings_get_through(
    mosquitto_acl: Mosquitto,
    sim: Callable[..., SimProbe],
    server: Collector,
    micropython: MicroPython,
) -> None:
    probe = sim(probe_config(mosquitto_acl, backlog_pace_ms=50), scenario())
    backlog = 2000  # what a van out of coverage for about 11 hours leaves behind
    done = micropython.run(
        FW_TESTS / "prefill.py",
        module_path=[FIRMWARE],
        args=[str(probe.data), str(backlog), str(int(time.time()) - 7200)],
    )
    assert done.returncode == 0, done.stderr
    probe.start()

    def complete() -> bool:
        seqs = {r["s"] for r in server.readings()}
        return len(seqs) > backlog + 10 and seqs == set(range(1, max(seqs) + 1))

    server.wait_for(complete, timeout=90)
    probe.stop()
    order = [r["s"] for r in server.readings()]
    first_seen = list(dict.fromkeys(order))
    # Live readings (numbered after the backlog) arrived while the backlog was still going out...
    # (not necessarily the very first new one: taken before the clock sync, it may wait its turn)
    first_live = min(i for i, s in enumerate(first_seen) if s > backlog)
    assert first_live < first_seen.index(backlog)
    # ...and the backlog itself went oldest first.
    backlog_order = [s for s in first_seen if s <= backlog]
    assert backlog_order == list(range(1, backlog + 1))


def test_a_silent_broker_is_detected_by_keepalive_and_nothing_is_lost(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    # A van in a tunnel: no RST, no FIN, the broker just stops answering (SIGSTOP).
    cfg = probe_config(mosquitto_acl)
    cfg["mqtt"]["keepalive_s"] = 2
    cfg["mqtt"]["response_s"] = 2
    probe = sim(cfg, scenario())
    probe.start()
    server.wait_for(lambda: len(server.readings()) >= 6)
    assert mosquitto_acl.proc is not None
    mark = probe.mark()
    mosquitto_acl.proc.send_signal(signal.SIGSTOP)
    try:
        probe.wait_line(lambda line: "mqtt link down" in line, since=mark, timeout=15)
        # Reconnect attempts reach the kernel's accept queue but get no CONNACK: let a few fail.
        for _ in range(2):
            mark = probe.mark()
            probe.wait_line(lambda line: "mqtt link down" in line, since=mark, timeout=15)
        probe.assert_alive()
    finally:
        mosquitto_acl.proc.send_signal(signal.SIGCONT)

    def caught_up() -> bool:
        seqs = {r["s"] for r in server.readings()}
        return bool(seqs) and seqs == set(range(1, max(seqs) + 1)) and max(seqs) > 60

    server.wait_for(caught_up, timeout=30)
    probe.assert_alive()
    assert probe.proc is not None
    fds = Path(f"/proc/{probe.proc.pid}/fd")
    sockets = [fd for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")]
    attempts = sum("mqtt link down" in line for line in probe.lines)
    probe.stop()
    assert "EV wdt-reset" not in probe.lines
    assert attempts >= 3 and len(sockets) == 1  # the dead connections were closed, not leaked
