"""A stand-in probe for the demo where the MicroPython firmware cannot run (demo/probes.py):

    python -m coldchain.demo.pyprobe config.json scenario.json data/

It reads the same scenario as the simulated board (series, door, dead zones, the demo clock)
and speaks the same contract: readings batches at QoS 1, removed from its queue only once the
broker acknowledged them, kept while the van is out of coverage and sent when it is back.
It is not the firmware: no flash queue (a kill loses what is unsent), no local alarm, no
config from the server. The demo says so when it uses it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from coldchain import clock
from coldchain.demo.day import value_at
from coldchain.protocol import (
    MAX_READINGS_PER_MESSAGE,
    Kind,
    Reading,
    ReadingsBatch,
    encode_readings,
    topic,
)

FIRMWARE = "pyprobe-1.0"


class Scenario:
    def __init__(self, sc: dict[str, Any]) -> None:
        self.sc = sc

    def now_s(self) -> float:
        """Scenario seconds: the demo clock's time minus the day's start."""
        start: float = self.sc["start"]
        now = clock.simulated(time.time(), self.sc["speed"], self.sc.get("meets_real_at"))
        return now - start

    def offline(self, s: float) -> bool:
        return any(a <= s < b for a, b in self.sc.get("offline", ()))

    def door(self, s: float) -> int | None:
        state = None
        for t, v in self.sc.get("door", ()):
            if t <= s:
                state = v
        return state


def main(argv: list[str]) -> int:
    cfg = json.loads(Path(argv[1]).read_text())
    sc = Scenario(json.loads(Path(argv[2]).read_text()))
    seq_file = Path(argv[3]) / "seq"
    seq = int(seq_file.read_text()) if seq_file.exists() else 0
    probe_id, net = cfg["id"], cfg["mqtt"]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=probe_id, clean_session=False)
    client.username_pw_set(net["user"], net["password"])
    client.connect_async(net["host"], net["port"], keepalive=net.get("keepalive_s", 30))
    client.loop_start()
    queue: list[Reading] = []
    interval = cfg.get("interval_s", 60)
    next_sample = sc.now_s()
    last_door = None
    while True:
        s = sc.now_s()
        t_ms = int((sc.sc["start"] + s) * 1000)
        door = sc.door(s)
        if door is not None and door != last_door:
            seq += 1
            queue.append(Reading(probe_id, "door", t_ms, seq, float(door)))
            last_door = door
        while s >= next_sample:  # on schedule, stamped at the scheduled second (no drift)
            at_ms = int((sc.sc["start"] + next_sample) * 1000)
            for channel, series in sc.sc["series"].items():
                seq += 1
                value = round(value_at(series, next_sample), 2)
                queue.append(Reading(probe_id, channel, at_ms, seq, value))
            next_sample += interval
        seq_file.write_text(str(seq))
        if queue and client.is_connected() and not sc.offline(s):
            batch = tuple(queue[:MAX_READINGS_PER_MESSAGE])
            payload = encode_readings(ReadingsBatch(probe_id, FIRMWARE, batch))
            sent = client.publish(topic(probe_id, Kind.READINGS), payload, qos=1)
            try:
                sent.wait_for_publish(10)
                if sent.is_published():
                    del queue[: len(batch)]
            except (RuntimeError, ValueError):
                pass  # not sent: kept, tried again
        time.sleep(max(0.01, min(0.2, interval / sc.sc["speed"] / 4)))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
