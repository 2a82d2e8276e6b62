"""Probe firmware on the MicroPython unix port, each figure next to a baseline from the same run.

    .venv/bin/python bench/firmware_bench.py [--quick]

1. Sampling: CPU time and bytes allocated per sample (3 readings appended to the flash queue,
   the local alarm fed), resident heap of queue + alarm; baseline: a naive queue that keeps a
   JSON list in one file and rewrites it for every reading (firmware/esp32/tests/bench_fs.py).
2. Queue: append and read-back (peek 20 + ack) rates; same baseline.
3. Flash: a real littlefs (MicroPython's VfsLfs2 on a RAM block device, 4 KiB blocks as on the
   ESP32) filled with 7 days x 3 channels x 1/min; bytes used, and how much of the week the
   naive JSON file can hold in the same 640 KiB partition.
4. Upload of that 7-day backlog: a simulated probe (real firmware: MQTT client, uplink, queue)
   whose flash holds the backlog connects to a loopback Mosquitto; timed until a subscriber
   got every reading. Default pacing (5 ms between batches of 20), unpaced, and the baseline
   of one reading per message (on a 1-day backlog, it is slow).
Host: this machine's CPU, not an ESP32: read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.servers import MicroPython, make_mosquitto, require_binary  # noqa: E402

FIRMWARE = REPO / "firmware" / "esp32"
WEEK = 7 * 24 * 60 * 3


def micropython() -> MicroPython:
    return MicroPython(require_binary("micropython"))


def run_mp(mp: MicroPython, script: str, *args: str, timeout: float = 900) -> str:
    done = mp.run(FIRMWARE / "tests" / script, module_path=[FIRMWARE], args=args, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def line(name: str, value: str, baseline: str, ratio: float | None) -> None:
    ratio_text = f"x{ratio:,.1f}" if ratio is not None else "-"
    print(f"  {name:<34} {value:>20}   baseline {baseline:>20}   ratio {ratio_text}")


def local_figures(mp: MicroPython) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out: dict[str, Any] = json.loads(run_mp(mp, "bench_fs.py", tmp))
    print(f"Sampling and queue (naive baseline at {out['naive_n']} entries, it grows with size)")
    # (label, key of our figure, the baseline's is "naive_" + key, unit, is lower better)
    for name, key, unit, lower_is_better in (
        ("CPU per sample (3 readings)", "sample_us", "us", True),
        ("allocated per sample", "sample_alloc_bytes", "B", True),
        ("resident heap (queue + alarm)", "resident_heap", "B", True),
        ("queue append", "append_per_s", "/s", False),
        ("queue read-back + ack", "read_per_s", "/s", False),
    ):
        ours, naive = out[key], out[f"naive_{key}"]
        ratio = naive / ours if lower_is_better else ours / naive
        line(name, f"{ours:,.0f} {unit}", f"{naive:,.0f} {unit}", ratio)
    print("Flash, 7 days x 3 channels x 1/min on littlefs (640 KiB partition, 4 KiB blocks)")
    per = out["week_flash_bytes"] / out["week_readings"]
    naive_fit = out["naive_week_readings"]
    naive_text = (
        f"{out['naive_week_flash_bytes'] / naive_fit:,.1f} B/reading"
        if out["naive_week_flash_bytes"]
        else f"full at {naive_fit:,} of {WEEK:,}"
    )
    line("flash per reading", f"{per:,.1f} B", naive_text, None)
    line("7-day backlog on flash", f"{out['week_flash_bytes'] / 1024:,.0f} KiB "
         f"({out['week_readings']:,})", naive_text, None)  # fmt: skip


class Counter:
    def __init__(self, port: int) -> None:
        self.seqs: set[int] = set()
        self.messages = 0
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-server")
        self.client.on_connect = lambda c, *_: c.subscribe("cc/v1/dev/+/up/readings", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        seqs = [r["s"] for r in json.loads(msg.payload)["r"]]
        with self.lock:
            self.seqs.update(seqs)
            self.messages += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def upload(mp: MicroPython, readings: int, batch: int, pace_ms: int) -> tuple[float, int]:
    """Seconds until every reading of a `readings` backlog reached a subscriber; messages."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = make_mosquitto(work / "broker")
        broker.start()
        try:
            data = work / "data"
            run_mp(mp, "prefill.py", str(data), str(readings), str(int(time.time()) - 60))
            now = time.time()
            cfg = {"id": "probe-01", "interval_s": 300, "status_s": 3600, "batch": batch,
                   "backlog_pace_ms": pace_ms, "live_threshold": 10**9,
                   "mqtt": {"host": "127.0.0.1", "port": broker.port}}  # fmt: skip
            scenario = {"t0": now, "start": int(now), "speed": 1,
                        "series": {"air": [[0, 3.5]], "product": [[0, 3.0]]}}  # fmt: skip
            (work / "cfg.json").write_text(json.dumps(cfg))
            (work / "sc.json").write_text(json.dumps(scenario))
            counter = Counter(broker.port)
            time.sleep(0.5)
            start = time.monotonic()
            proc = mp.popen(FIRMWARE / "sim_main.py", module_path=[FIRMWARE],
                            args=[str(work / "cfg.json"), str(work / "sc.json"), str(data)],
                            stdout=subprocess.DEVNULL)  # fmt: skip
            try:
                while True:
                    with counter.lock:
                        if len(counter.seqs & set(range(1, readings + 1))) >= readings:
                            break
                    if proc.poll() is not None:
                        raise SystemExit("the simulated probe exited")
                    time.sleep(0.2)
                elapsed = time.monotonic() - start
            finally:
                proc.kill()
                proc.wait()
                counter.close()
            return elapsed, counter.messages
        finally:
            broker.stop()


def upload_figures(mp: MicroPython, quick: bool) -> None:
    week = WEEK // 7 if quick else WEEK
    day = WEEK // 7 // (4 if quick else 1)
    label = "1 day" if quick else "7 days"
    print(f"Upload of a {label} backlog ({week:,} readings) over loopback Mosquitto")
    paced, paced_msgs = upload(mp, week, 20, 5)
    fast, fast_msgs = upload(mp, week, 20, 0)
    single, single_msgs = upload(mp, day, 1, 0)
    single_rate = day / single
    for name, seconds in (("batches of 20, paced 5 ms", paced), ("batches of 20, unpaced", fast)):
        rate = week / seconds
        line(name, f"{seconds:,.1f} s ({rate:,.0f}/s)", f"{single_rate:,.0f}/s", rate / single_rate)
    print(f"  baseline: 1 reading per message, unpaced, {day:,} readings in {single:,.1f} s; "
          f"messages {paced_msgs:,} / {fast_msgs:,} / {single_msgs:,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1-day backlog instead of 7 days")
    args = parser.parse_args()
    mp = micropython()
    local_figures(mp)
    upload_figures(mp, args.quick)


if __name__ == "__main__":
    main()
