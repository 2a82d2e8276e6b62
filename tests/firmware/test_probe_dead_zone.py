"""A van in a dead zone, and the demo's clock: what `coldchain demo` asks of the simulated board.

The board (board_sim.py) simulates the network going away ("offline" windows, in scenario
time) and a scenario clock that meets real time (`meets_real_at`, coldchain/clock.py).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable

from tests.firmware.conftest import SPEED, Collector, SimProbe, probe_config, scenario
from tests.harness.servers import Mosquitto


def test_a_dead_zone_keeps_every_reading_and_sends_the_backlog_when_back(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    # The network goes away from scenario minute 2 to minute 8 (6 s of host time at 60x).
    sc = scenario(offline=[[120, 480]])
    probe = sim(probe_config(mosquitto_acl), sc)
    probe.start()
    probe.wait_line(lambda s: "network lost" in s, timeout=15)
    back = (sc["start"] + 600) * 1000

    def after_the_outage() -> list[int]:
        return [r["s"] for r in server.readings() if r["c"] == "air" and r["t"] >= back]

    server.wait_for(lambda: bool(after_the_outage()), timeout=30)

    def backlog_in() -> bool:
        # Newest first, then the backlog: a reading from after the outage can come before
        # those of the outage (firmware/esp32/uplink.py). Every sequence number up to it.
        return {r["s"] for r in server.readings()} >= set(range(1, min(after_the_outage()) + 1))

    # Not an assertion: when a reading is missing, the checks below show where.
    with contextlib.suppress(AssertionError):
        server.wait_for(backlog_in, timeout=30)
    probe.stop()
    air = sorted(
        {r["s"]: r for r in server.readings() if r["c"] == "air"}.values(), key=lambda r: r["t"]
    )
    # Nothing missing across the outage: one air reading every 10 s of scenario time.
    times = [
        r["t"] for r in air if (sc["start"] + 60) * 1000 <= r["t"] <= (sc["start"] + 540) * 1000
    ]
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert times and all(0 < s <= 20_000 for s in steps), steps
    assert sum(steps) / len(steps) <= 11_000


def test_the_scenario_clock_meets_real_time_and_never_stamps_the_future(
    mosquitto_acl: Mosquitto, sim: Callable[..., SimProbe], server: Collector
) -> None:
    now = time.time()
    meets = now + 3  # three seconds at 60x: three scenario minutes, then real time
    sc = scenario(meets_real_at=meets)
    sc["start"] = int(meets - (meets - sc["t0"]) * SPEED)
    probe = sim(probe_config(mosquitto_acl, interval_s=2), sc)
    probe.start()
    server.wait_for(lambda: any(r["t"] >= meets * 1000 for r in server.readings()), timeout=30)
    probe.stop()
    stamps = [r["t"] for r in server.readings()]
    assert max(stamps) <= time.time() * 1000 + 1000  # never ahead of real time
    fast = [t for t in stamps if t < (meets - 1) * 1000]
    assert len(fast) >= 100  # two-second samples at 60x before the meeting point
