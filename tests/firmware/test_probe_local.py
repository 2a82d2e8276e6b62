"""What the probe does on its own: local alarm with no broker, sensor faults, clock, boot guard."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from coldchain import protocol
from tests.firmware.conftest import SPEED, Collector, SimProbe, now_ms, probe_config, scenario
from tests.harness.servers import Mosquitto, free_port

ALARM_CONFIG = {"v": 1, "interval": 10, "alarm": {"air": {"high": 4.0, "delay": 120}}}


def _no_broker(**extra: Any) -> dict[str, Any]:
    # A broker address where nothing listens: the uplink keeps failing, the probe must not care.
    cfg = probe_config(None, alarm_config=ALARM_CONFIG, **extra)
    cfg["mqtt"] = {"host": "127.0.0.1", "port": free_port(), "response_s": 2, "max_backoff_s": 2}
    return cfg


def test_local_alarm_sounds_after_the_delay_without_any_broker_and_the_button_silences_it(
    sim: Callable[..., SimProbe],
) -> None:
    # air: 3.0, above 4.0 from scenario second 61 to 400, back to 3.0, above again from 430.
    series = [[0, 3.0], [60, 3.0], [61, 8.0], [400, 8.0], [401, 3.0], [429, 3.0], [430, 8.0]]
    sc = scenario(series={"air": series, "product": [[0, 3.0]]})
    probe = sim(_no_broker(), sc)
    probe.start()
    line = probe.wait_line(lambda s: s == "EV buzzer 1", timeout=15)
    # Not before the first reading above 4.0 (>= 61 s) plus the 120 s delay, in scenario time.
    sounded = (probe.time_of(line) - sc["t0"]) * SPEED
    # (upper bound: one sample interval late at most, plus 1 s of host time for a busy machine)
    assert 61 + 120 <= sounded <= 61 + 10 + 120 + SPEED, sounded
    probe.wait_line(lambda s: s == "EV led 1")
    probe.wait_line(lambda s: s.startswith("EV display ALARME air 8.0/4.0"))

    mark = probe.mark()
    probe.press_button()
    probe.wait_line(lambda s: s == "EV buzzer 0", since=mark)
    probe.wait_line(lambda s: "button: buzzer silenced" in s, since=mark)
    assert "EV led 0" not in probe.lines[mark:]  # the LED keeps showing the excursion

    # Back in range: alarm over. The next excursion sounds again (silence was for one episode).
    probe.wait_line(lambda s: s == "EV led 0", since=mark, timeout=15)
    mark = probe.mark()
    probe.wait_line(lambda s: s == "EV buzzer 1", since=mark, timeout=15)
    probe.assert_alive()
    assert any("mqtt link down" in s for s in probe.lines)


def test_sensor_faults_become_fault_readings(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    faults = [
        {"c": "air", "from": 0, "to": 25, "raw": 85.0},  # DS18B20 power-on value
        {"c": "air", "from": 25, "to": 45, "raw": None},  # nobody answers on the bus
        {"c": "air", "from": 45, "to": 65, "raw": "crc"},  # scratchpad CRC mismatch
        {"c": "product", "from": 0, "to": 35, "raw": 150.0},  # beyond the physical range
        {"c": "product", "from": 35, "to": 65, "raw": -127.0},  # "no device" value
        {"c": "humidity", "from": 0, "to": 35, "raw": "nack"},  # SHT4x does not acknowledge
        {"c": "humidity", "from": 35, "to": 65, "raw": "crc"},  # SHT4x CRC-8 mismatch
    ]
    series = {"air": [[0, 3.5]], "product": [[0, 3.0]], "humidity": [[0, 80.0]]}
    probe = sim(probe_config(mosquitto_acl), scenario(series=series, faults=faults))
    probe.start()
    server.wait_for(lambda: sum(r["c"] == "humidity" for r in server.readings()) >= 9)
    probe.stop()
    seen = {(r["c"], r.get("f"), r.get("v")) for r in server.readings()}
    assert ("air", "power_on_value", 85) in seen
    assert ("air", "disconnected", None) in seen
    assert ("air", "crc_error", None) in seen
    assert ("product", "out_of_range", 150) in seen
    assert ("product", "disconnected", -127) in seen
    assert ("humidity", "i2c_nack", None) in seen
    assert ("humidity", "crc_error", None) in seen
    assert ("air", None, 3.5) in seen and ("humidity", None, 80) in seen
    for topic, payload, _ in server.messages:
        if topic.endswith("/up/readings"):
            assert isinstance(
                protocol.parse_readings(payload, now_ms(), topic), protocol.ReadingsBatch
            )


def test_readings_before_the_first_sync_get_their_true_time(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    sc = scenario(sync_after=120)  # NTP answers only two scenario minutes after power-up
    probe = sim(probe_config(mosquitto_acl), sc)
    probe.start()
    server.wait_for(lambda: sum(r["c"] == "air" for r in server.readings()) >= 16, timeout=30)
    probe.stop()
    air = [r for r in server.readings() if r["c"] == "air"]
    assert all("u" not in r for r in air)
    # Stamped from the boot's anchor: the first reading sits at the scenario start, 10 s apart.
    # (the process starts a little after the scenario clock: measure from its first line)
    booted = probe.time_of(next(s for s in probe.lines if s.startswith("LOG boot")))
    expected = (sc["start"] + (booted - sc["t0"]) * SPEED) * 1000
    assert abs(air[0]["t"] - expected) <= 6_000, (air[0]["t"], expected)
    steps = [b["t"] - a["t"] for a, b in itertools.pairwise(air)]
    # At 60x one scenario second is 17 ms of host time: a busy host delays single samples, the
    # absolute schedule catches up; so: no sample missed, and no drift on average.
    assert all(0 < s <= 20_000 for s in steps), steps
    assert abs((air[-1]["t"] - air[0]["t"]) / len(steps) - 10_000) <= 1_000


def test_a_clock_that_never_syncs_is_flagged_not_dropped(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    probe = sim(probe_config(mosquitto_acl, hold_unsynced_s=60), scenario(sync_after=None))
    probe.start()
    server.wait_for(lambda: len(server.readings()) >= 10)
    probe.stop()
    readings = server.readings()
    assert all(r.get("u") == 1 for r in readings)
    assert [r["s"] for r in readings] == list(range(1, len(readings) + 1))
    for topic, payload, _ in server.messages:
        if topic.endswith("/up/readings"):
            batch = protocol.parse_readings(payload, now_ms(), topic)
            assert isinstance(batch, protocol.ReadingsBatch)
            assert not any(r.clock_synced for r in batch.readings)
        elif json.loads(payload)["online"]:
            assert json.loads(payload)["sync"] is False


def test_boot_loop_guard_falls_back_to_safe_mode_that_still_alarms(
    sim: Callable[..., SimProbe],
) -> None:
    sc = scenario(series={"air": [[0, 9.0]], "product": [[0, 3.0]]})
    probe = sim(_no_broker(safe_retry_s=240), sc)
    # Three boots in a row that never stayed up for stable_s.
    (probe.data / "state.json").write_text(json.dumps({"boot": 5, "unstable": 3}))
    probe.start()
    probe.wait_line(lambda s: s == "LOG boot 6 fw 1.0.0 mode safe")
    probe.wait_line(lambda s: s == "EV buzzer 1")  # measuring and alarming, no network
    probe.wait_line(lambda s: "boot-loop guard cleared" in s)
    probe.wait_line(lambda s: s == "EV reset", timeout=15)  # retries normal mode later
    assert probe.proc is not None and probe.proc.wait(5) == 3
    assert not any("mqtt" in s for s in probe.lines)
    assert json.loads((probe.data / "state.json").read_text())["unstable"] == 0
    probe.start()
    probe.wait_line(lambda s: s == "LOG boot 7 fw 1.0.0 mode normal")


def probe_t0(probe: SimProbe) -> float:
    t0: float = json.loads(probe.scenario_path.read_text())["t0"]
    return t0


def test_watchdog_resets_a_probe_whose_sampling_hangs(sim: Callable[..., SimProbe]) -> None:
    # Sampling hangs at scenario second 120; the supervisor stops feeding the watchdog
    # (30 s in probe time) and the (emulated) chip resets; the boot counter shows it.
    probe = sim(_no_broker(wdt_ms=30000), scenario(hang_after=120))
    probe.start()
    probe.wait_line(lambda s: s == "EV wdt 30000")
    probe.wait_line(lambda s: s == "EV wdt-reset", timeout=15)
    assert probe.proc is not None and probe.proc.wait(5) == 4
    # Not before the hang plus the watchdog timeout (scenario seconds): fed until then.
    assert (probe.time_of("EV wdt-reset") - probe_t0(probe)) * SPEED >= 120 + 30
    state = json.loads((probe.data / "state.json").read_text())
    assert state["boot"] == 1 and state["unstable"] == 0  # it had been stable before
    probe.start()
    probe.wait_line(lambda s: s == "LOG boot 2 fw 1.0.0 mode normal")


def test_a_boot_without_clock_is_estimated_from_the_boot_before(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    # Boot 1 knows the time but has no uplink; boot 2 (after a power cut) never gets NTP.
    sc = scenario()
    probe = sim(probe_config(mosquitto_acl, transport="none"), sc)
    probe.start()
    time.sleep(1.5)
    probe.kill()
    sc["sync_after"] = None
    probe.scenario_path.write_text(json.dumps(sc))
    probe.cfg_path.write_text(json.dumps(probe_config(mosquitto_acl, hold_unsynced_s=30)))
    probe.start()
    server.wait_for(lambda: any(r.get("u") == 1 for r in server.readings()), timeout=20)
    probe.stop()
    batches = [json.loads(p) for t, p, _ in server.messages if t.endswith("/up/readings")]
    first_boot = [r for b in batches for r in b["r"] if "u" not in r]
    second_boot = [r for b in batches for r in b["r"] if r.get("u") == 1]
    assert first_boot and second_boot
    assert [r["s"] for r in first_boot + second_boot][:5] == [1, 2, 3, 4, 5]
    # The estimate never goes back before the last time known, nor into the future.
    assert min(r["t"] for r in second_boot) >= max(r["t"] for r in first_boot)
    assert max(r["t"] for r in second_boot) <= now_ms() + 600_000
    for b in batches:
        assert b["boot"] == 2
