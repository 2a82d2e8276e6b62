"""The demo's stand-in probe (coldchain/demo/pyprobe.py, used where MicroPython is missing)
against real Mosquitto with the probe ACL: contract payloads, and every reading of a dead zone
delivered once the van is back in coverage."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

from coldchain import protocol
from coldchain.demo import day
from coldchain.demo.probes import DemoClock, probe_config, scenario
from tests.firmware.conftest import Collector
from tests.harness.servers import Mosquitto

SPEED = 120.0


def test_the_stand_in_probe_speaks_the_contract_and_keeps_a_dead_zone(
    mosquitto_acl: Mosquitto, tmp_path: Path
) -> None:
    server = Collector(mosquitto_acl)
    now = time.time()
    # A day that meets real time in 20 s: 40 demo minutes, out of coverage from 10 to 25.
    demo = DemoClock(SPEED, now + 20, now)
    probe = day.ProbeScript(
        "probe-01",
        "V2_froid",
        "B",
        "product",
        day.steady(4.0, until_min=60),
        door=[(0, 0), (300, 1), (420, 0)],
        offline=[(600, 1500)],
    )
    cfg = probe_config(
        probe, mosquitto_acl.host, mosquitto_acl.port, mosquitto_acl.users["probe-01"]
    )
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "scenario.json").write_text(json.dumps(scenario(probe, demo)))
    (tmp_path / "data").mkdir()
    args = [str(tmp_path / n) for n in ("config.json", "scenario.json", "data")]
    proc = subprocess.Popen([sys.executable, "-m", "coldchain.demo.pyprobe", *args])
    try:
        back = (demo.day_start + 1800) * 1000  # five minutes after the dead zone
        server.wait_for(lambda: any(r["t"] >= back for r in server.readings()), timeout=40)
    finally:
        proc.terminate()
        proc.wait(10)
        server.close()
    for topic, payload, _ in server.messages:
        if topic.endswith("/up/readings"):
            parsed = protocol.parse_readings(payload, int(time.time() * 1000), topic)
            assert isinstance(parsed, protocol.ReadingsBatch), parsed
    product = sorted(r["t"] for r in server.readings() if r["c"] == "product")
    inside = [t for t in product if t <= back]
    steps = [b - a for a, b in itertools.pairwise(inside)]
    assert all(55_000 <= s <= 65_000 for s in steps), steps  # a minute apart, none missing
    assert inside[-1] - inside[0] >= 25 * 60_000  # across the dead zone
    doors = [(r["t"], r["v"]) for r in server.readings() if r["c"] == "door"]
    assert [v for _, v in doors][:3] == [0, 1, 0]
    numbers: dict[tuple[str, int], set[int]] = {}
    for r in server.readings():  # a resend after a lost PUBACK is fine, a new number is not
        numbers.setdefault((r["c"], r["t"]), set()).add(r["s"])
    assert all(len(n) == 1 for n in numbers.values())
