"""Gateway throughput, end to end, against the bare-subscriber ceiling measured in the same run.

    .venv/bin/python bench/gateway_throughput.py [--quick] [--ratio-only] [--rounds N]

First the ratio to a bare paho subscriber (issue 18), SQLite sink, measured side by side in
each round: for 10 and then 1 readings per message, the bare subscriber, one gateway, and two
gateways on the same shared subscription (each its own client id, spool and metrics port),
each time fed by the same publisher processes (two; `--publishers`). Printed: readings/s, the
ratio to bare, two gateways against one, and the gateways' CPU microseconds per reading (user +
system of the gateway processes over the readings: steadier than rates on a shared, loaded
machine). `--rounds 0` skips that table. `--baseline DIR` also runs, in each round, one
gateway from another source tree (the code before a change: `git archive HEAD | tar -x -C
DIR`), side by side; `--gateway-setting gateway.receive_maximum=10000` changes a setting of
this tree's gateways only (the baseline keeps its defaults).
Targets (issue 18): >= 0.6 x bare at 10 readings/message and >= 0.8 x at 1/message with one
process; two processes >= 1.7 x one.

For each sink (sqlite, influxdb1 = InfluxDB 1.6.7 /write, influxdb2 = influxdb-client to
VictoriaMetrics' /api/v2/write) and for 1 and 10 readings per message: a publisher process
streams as fast as it can through Mosquitto into a gateway process; the rate is readings the
sink confirmed per second, from the first publish to the last confirmation. The ceiling is a
bare paho subscriber (same shared subscription, QoS 1, auto-ack) that only counts.
Then the spool drain: a spool holding 600,000 readings (what a 10-minute sink outage at 1,000
readings/s leaves; written straight into the spool rather than waiting 10 minutes) is sent to
each sink by a freshly started gateway, timed until the sink confirmed all.
Resident memory is the gateway process's peak (VmHWM).

Targets (issue 4): >= 30,000 readings/s with 10-reading messages; >= 50 % of the bare rate
with 1-reading messages; < 150 MB resident; drain of 600,000 in < 60 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coldchain.protocol import Kind, Reading, share_filter  # noqa: E402
from gateway.spool import Spool  # noqa: E402
from tests.harness.servers import (  # noqa: E402
    Server,
    free_port,
    make_influxdb1,
    make_mosquitto,
    make_victoria_metrics,
)

PROBES = 200
# Publisher processes feeding the ratio runs: one Python publisher alone is slower than the
# broker and the bare subscriber at 1 reading per message, and would be the ceiling measured.
# (--publishers; set from the command line in main.)
PUBLISHERS = 2
PUBLISHER_SPACING_MS = 5 * 10**6  # each publisher's device times, apart: no shared key
# Another source tree whose gateway runs beside this one in each round of the ratio table
# (--baseline): before and after a change, measured side by side.
BASELINE: Path | None = None
# `--gateway-setting section.name=value`, as environment variables (COLDCHAIN_SECTION__NAME)
GATEWAY_SETTINGS: dict[str, str] = {}


def start_publisher(
    port: int, readings: int, per_message: int, start_ms: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.simulate", "--port", str(port), "--probes", str(PROBES),
         "--readings", str(readings), "--per-message", str(per_message),
         "--start-ms", str(start_ms)],
        cwd=REPO, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def start_publishers(
    port: int, readings: int, per_message: int, start_ms: int
) -> list[subprocess.Popen[bytes]]:
    """PUBLISHERS processes sending `readings` in all (each its own device-time range)."""
    share = readings // PUBLISHERS
    return [
        start_publisher(port, share, per_message, start_ms + k * PUBLISHER_SPACING_MS)
        for k in range(PUBLISHERS)
    ]


def bare_subscriber_rate(
    port: int, readings: int, per_message: int, start_ms: int, publishers: int = 1
) -> float:
    """Messages counted per second by a paho subscriber that does nothing else, as readings/s."""
    if publishers > 1:
        readings = readings // publishers * publishers
    expected = -(-readings // per_message)
    count = 0
    done = threading.Event()
    first: list[float] = []

    def on_message(_c: object, _u: object, _m: object) -> None:
        nonlocal count
        count += 1
        if count >= expected:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-subscriber",
                         protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(share_filter("bare", Kind.READINGS), 1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    subscribed.wait(10)
    first.append(time.perf_counter())
    if publishers > 1:
        pubs = start_publishers(port, readings, per_message, start_ms)
    else:
        pubs = [start_publisher(port, readings, per_message, start_ms)]
    done.wait(600)
    elapsed = time.perf_counter() - first[0]
    for publisher in pubs:
        publisher.wait()
    client.disconnect()
    client.loop_stop()
    return expected * per_message / elapsed


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class GatewayRun:
    def __init__(
        self,
        workdir: Path,
        broker_port: int,
        store: dict[str, str],
        name: str,
        group: str | None = None,
        code: Path = REPO,
    ) -> None:
        self.code = code
        self.metrics_port = free_port()
        self.client_id = f"bench-{name}"
        self.broker_port = broker_port
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
        env.update(
            PYTHONPATH=str(code),
            COLDCHAIN_MQTT__PORT=str(broker_port),
            COLDCHAIN_GATEWAY__CLIENT_ID=self.client_id,
            COLDCHAIN_GATEWAY__SHARE_GROUP=f"bench-{group or name}",
            COLDCHAIN_GATEWAY__SPOOL_PATH=str(workdir / f"spool-{name}.sqlite3"),
            COLDCHAIN_GATEWAY__METRICS_PORT=str(self.metrics_port),
        )
        env.update({f"COLDCHAIN_STORE__{k.upper()}": v for k, v in store.items()})
        if code == REPO:  # this tree's gateways only: the baseline keeps its defaults
            env.update(GATEWAY_SETTINGS)
        self.spool_path = workdir / f"spool-{name}.sqlite3"
        self.env = env
        self.log = workdir / f"gateway-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu_s = 0.0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coldchain.cli", "gateway", "run"],
                cwd=self.code,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while "subscribed to" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            time.sleep(0.05)

    def written(self) -> float:
        return metric(self.metrics_port, "coldchain_gateway_sink_readings_written_total")

    def wait_written(self, total: int, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.written() >= total:
                return time.perf_counter()
            # Not faster: each scrape costs the gateway CPU (6 % of its samples at 20 ms).
            time.sleep(0.2)
        raise TimeoutError(f"only {self.written()} of {total} written")

    def stop(self) -> float:
        assert self.proc is not None
        rss = peak_rss_mb(self.proc.pid)
        self.cpu_s = cpu_seconds(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(60)
        # End the stopped gateway's persistent session, or the broker would keep queueing a
        # copy of every later run's messages for it.
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        client.connect("127.0.0.1", self.broker_port, clean_start=True)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
        client.loop_stop()
        return rss


def gateways_rate(
    workdir: Path, broker_port: int, store: dict[str, str], name: str, processes: int,
    readings: int, per_message: int, start_ms: int, code: Path = REPO,
) -> tuple[float, float]:  # fmt: skip
    """`processes` gateways on one shared subscription, fed by the PUBLISHERS: (readings/s
    confirmed by the sink, gateway CPU microseconds per reading, all processes together).
    `code`: the source tree the gateways run from (`--baseline`)."""
    readings = readings // PUBLISHERS * PUBLISHERS
    gws = [GatewayRun(workdir, broker_port, store, f"{name}p{k}", group=name, code=code)
           for k in range(processes)]  # fmt: skip
    for gw in gws:
        gw.start()
    cpu_before = sum(cpu_seconds(gw.proc.pid) for gw in gws if gw.proc is not None)
    started = time.perf_counter()
    publishers = start_publishers(broker_port, readings, per_message, start_ms)
    deadline = time.monotonic() + 600
    while sum(gw.written() for gw in gws) < readings:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {sum(gw.written() for gw in gws)} of {readings} written")
        time.sleep(0.2)
    finished = time.perf_counter()
    for publisher in publishers:
        publisher.wait()
    for gw in gws:
        gw.stop()
    cpu = sum(gw.cpu_s for gw in gws) - cpu_before
    return readings / (finished - started), cpu / readings * 1e6


def ratio_rounds(
    workdir: Path, broker_port: int, store: dict[str, str], rounds: int,
    volumes: dict[int, int], start_ms: int,
) -> int:  # fmt: skip
    """The issue-18 table, side by side in each round. Returns the device-time offset used."""
    offset = 0
    for per_message, readings in volumes.items():
        for r in range(rounds):
            load = os.getloadavg()[0]
            bare = bare_subscriber_rate(broker_port, readings, per_message, start_ms + offset,
                                        PUBLISHERS)  # fmt: skip
            offset += 2 * 10**7
            one, cpu1 = gateways_rate(workdir, broker_port, store, f"r{per_message}x{r}one", 1,
                                      readings, per_message, start_ms + offset)  # fmt: skip
            offset += 2 * 10**7
            two, cpu2 = gateways_rate(workdir, broker_port, store, f"r{per_message}x{r}two", 2,
                                      readings, per_message, start_ms + offset)  # fmt: skip
            offset += 2 * 10**7
            baseline = ""
            if BASELINE is not None:
                base, cpub = gateways_rate(workdir, broker_port, store,
                                           f"r{per_message}x{r}base", 1, readings, per_message,
                                           start_ms + offset, code=BASELINE)  # fmt: skip
                offset += 2 * 10**7
                baseline = (f" | baseline gateway ({BASELINE.name}) {base:8,.0f}/s = "
                            f"{base / bare:.2f} x bare, CPU per reading {cpub:.1f} us")  # fmt: skip
            target = 0.6 if per_message == 10 else 0.8
            print(f"{per_message:2d} readings/message, round {r + 1} (load {load:.1f}): "
                  f"bare {bare:8,.0f}/s | one gateway {one:8,.0f}/s = {one / bare:.2f} x bare "
                  f"(target {target}) | two gateways {two:8,.0f}/s = {two / bare:.2f} x bare, "
                  f"{two / one:.2f} x one (target 1.7) | gateway CPU per reading "
                  f"{cpu1:.1f} us (one), {cpu2:.1f} us (two){baseline}", flush=True)  # fmt: skip
    return offset


def end_to_end(
    workdir: Path, broker_port: int, store: dict[str, str], name: str,
    readings: int, per_message: int, start_ms: int,
) -> tuple[float, float, float]:  # fmt: skip
    """(readings/s, peak RSS MB, gateway CPU microseconds per reading)."""
    gw = GatewayRun(workdir, broker_port, store, name)
    gw.start()
    assert gw.proc is not None
    cpu_before = cpu_seconds(gw.proc.pid)
    started = time.perf_counter()
    publisher = start_publisher(broker_port, readings, per_message, start_ms)
    finished = gw.wait_written(readings)
    publisher.wait()
    rss = gw.stop()
    return readings / (finished - started), rss, (gw.cpu_s - cpu_before) / readings * 1e6


def drain(workdir: Path, broker_port: int, store: dict[str, str], name: str,
          readings: int, start_ms: int) -> tuple[float, float]:  # fmt: skip
    gw = GatewayRun(workdir, broker_port, store, name)
    spool = Spool(gw.spool_path, fsync=False)
    arrived = int(time.time() * 1000)
    messages: list[tuple[list[Reading], int]] = []
    per_probe = readings // PROBES
    for first in range(0, per_probe, 10):  # 10-reading messages, as a probe batches them
        for p in range(PROBES):
            probe = f"drain-{p:03d}"
            batch = [
                Reading(probe, "air", start_ms + k * 1000, k, 4.0 + (k % 7) / 10)
                for k in range(first, min(first + 10, per_probe))
            ]
            messages.append((batch, arrived))
        if len(messages) >= 5000:
            spool.commit(messages)
            messages = []
    if messages:
        spool.commit(messages)
    assert spool.depth() == readings
    spool.close()
    started = time.perf_counter()
    gw.start()
    finished = gw.wait_written(readings)
    return finished - started, gw.stop()


def main() -> int:
    global PUBLISHERS, BASELINE  # module settings, like PROBES, read by the helpers
    parser = argparse.ArgumentParser(description="gateway end-to-end throughput benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller volumes (a smoke run)")
    parser.add_argument("--ratio-only", action="store_true",
                        help="only the ratio to bare paho (one and two gateways)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the ratio table")
    parser.add_argument("--ratio-sink", choices=("sqlite", "influxdb1"), default="sqlite",
                        help="the sink of the ratio table (two gateways share one SQLite file "
                        "and its write lock; InfluxDB takes both at once)")  # fmt: skip
    parser.add_argument(
        "--publishers", type=int, default=PUBLISHERS,
        help="publisher processes of the ratio table (1 with influxdb1: the publishers' "
        "device-time ranges lie apart, and each InfluxDB batch then reads back the whole span "
        "between them for its first-write check)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=Path,
        help="another source tree (e.g. `git archive HEAD` unpacked) whose gateway is measured "
        "in each round of the ratio table too, beside this one (before/after a change)",
    )  # fmt: skip
    parser.add_argument(
        "--gateway-setting", action="append", default=[], metavar="SECTION.NAME=VALUE",
        help="a setting of this tree's gateways (not the baseline's), e.g. "
        "gateway.receive_maximum=10000; repeatable",
    )  # fmt: skip
    args = parser.parse_args()
    for setting in args.gateway_setting:
        name, _, value = setting.partition("=")
        section, _, key = name.partition(".")
        if not (section and key and value):
            parser.error(f"--gateway-setting {setting!r}: SECTION.NAME=VALUE expected")
        GATEWAY_SETTINGS[f"COLDCHAIN_{section.upper()}__{key.upper()}"] = value
    PUBLISHERS = max(1, args.publishers)
    BASELINE = args.baseline.resolve() if args.baseline else None
    scale = 0.1 if args.quick else 1.0
    n10, n1, n_drain = int(300_000 * scale), int(60_000 * scale), int(600_000 * scale)
    start_ms = int(time.time() * 1000) - 30 * 24 * 3600 * 1000  # each run 1e7 ms later
    tmp = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    broker = make_mosquitto(tmp / "mosquitto")
    influx = make_influxdb1(tmp / "influxdb")
    vm = make_victoria_metrics(tmp / "vm")
    servers: list[Server] = [broker, influx, vm]
    for server in servers:
        server.start()
    sinks = {
        "sqlite": {"kind": "sqlite", "sqlite_path": str(tmp / "readings.sqlite3")},
        "influxdb1": {"kind": "influxdb1", "url": influx.url},
        "influxdb2 (VictoriaMetrics)": {"kind": "influxdb2", "url": vm.url, "token": "bench"},
    }
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
              "(shared machine: figures are noisy)", flush=True)  # fmt: skip
        ratio_sink = {"kind": "sqlite", "sqlite_path": str(tmp / "ratio.sqlite3")}
        if args.ratio_sink == "influxdb1":
            ratio_sink = {"kind": "influxdb1", "url": influx.url, "database": "ratio"}
        print(f"ratio table: {args.ratio_sink} sink", flush=True)
        used = ratio_rounds(tmp, broker.port, ratio_sink, args.rounds,
                            {10: n10, 1: n1}, start_ms)  # fmt: skip
        start_ms += used
        if args.ratio_only:
            return 0
        bare1 = bare_subscriber_rate(broker.port, n1, 1, start_ms)
        bare10 = bare_subscriber_rate(broker.port, n10, 10, start_ms)
        print(f"bare paho subscriber (ceiling): {bare1:,.0f} readings/s with 1/message, "
              f"{bare10:,.0f} readings/s with 10/message")  # fmt: skip
        peak = 0.0
        offset = 10**7
        for i, (name, store) in enumerate(sinks.items()):
            tag = f"s{i}"
            rate10, rss10, cpu10 = end_to_end(tmp, broker.port, store, tag + "m10", n10, 10,
                                       start_ms + offset)  # fmt: skip
            offset += 10**7
            rate1, rss1, cpu1 = end_to_end(
                tmp, broker.port, store, tag + "m1", n1, 1, start_ms + offset
            )
            offset += 10**7
            peak = max(peak, rss10, rss1)
            print(f"{name:28s} 10/message: {rate10:8,.0f} readings/s "
                  f"({rate10 / 30_000:.0%} of the 30,000 target, {rate10 / bare10:.0%} of bare)  "
                  f"1/message: {rate1:7,.0f} readings/s ({rate1 / bare1:.0%} of bare; target 50%)  "
                  f"peak RSS {max(rss10, rss1):.0f} MB")  # fmt: skip
            print(f"{'':28s} gateway CPU per reading: {cpu10:.1f} us (10/message, one core "
                  f"would carry {1e6 / cpu10:,.0f}/s), {cpu1:.1f} us (1/message, "
                  f"{1e6 / cpu1:,.0f}/s)")  # fmt: skip
        for i, (name, store) in enumerate(sinks.items()):
            seconds, rss = drain(tmp, broker.port, store, f"d{i}", n_drain, start_ms + offset)
            offset += 10**7
            peak = max(peak, rss)
            print(
                f"drain of {n_drain:,} spooled readings into {name}: {seconds:.1f} s "
                f"({n_drain / seconds:,.0f} readings/s; target < 60 s), peak RSS {rss:.0f} MB"
            )
        print(f"gateway peak resident memory over all runs: {peak:.0f} MB (target < 150 MB)")
    finally:
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
