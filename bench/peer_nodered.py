"""The gateway against what cooperatives often pick instead: Node-RED + node-red-contrib-influxdb.

    .venv/bin/python bench/peer_nodered.py [--rounds 3] [--readings 100000] [--quick]

Same Mosquitto (configured by coldchain.broker, as shipped), same publisher process
(`gateway.simulate`, the contract's payloads, QoS 1), same InfluxDB 1.6.7, each system writing
to its own database. Rounds are interleaved (gateway, Node-RED, gateway, Node-RED…) for
10 readings per message and for 1, so a slow moment of this shared machine hits both. The
rate is readings stored per second, from the first publish to the last point stored (counted
in InfluxDB itself, the same way for both); lost is what never reached InfluxDB.

Node-RED 4.1.8 and node-red-contrib-influxdb 0.7.0 are installed with npm into
~/.cache/coldchain-bench/ the first time (nothing is added to the repository). Without
Node.js and npm the benchmark says so and stops. The Node-RED flow is what its documentation
suggests: an `mqtt in` node (shared subscription, QoS 1, parsed JSON), a function node
turning one message into InfluxDB points, and an `influxdb batch` node.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.gateway_throughput import GatewayRun, start_publisher  # noqa: E402
from tests.harness.servers import InfluxDB1, free_port, make_influxdb1, make_mosquitto  # noqa: E402

NODE_RED = "4.1.8"
CONTRIB_INFLUXDB = "0.7.0"
CACHE = Path.home() / ".cache" / "coldchain-bench" / f"node-red-{NODE_RED}"

# One message of the contract (docs/protocol.md) -> one InfluxDB point per reading, in the
# project's schema (measurement `reading`, tags probe and channel, fields value and seq).
FUNCTION = """
const m = msg.payload;
const points = [];
for (const r of m.r) {
    const fields = { seq: r.s };
    if (r.v !== undefined) { fields.value = r.v; }
    if (r.f !== undefined) { fields.fault = r.f; }
    points.push({ measurement: "reading", tags: { probe: m.id, channel: r.c },
                  fields: fields, timestamp: new Date(r.t) });
}
msg.payload = points;
return msg;
"""


def install() -> Path | None:
    """Node-RED in the cache folder; None (with a message) when Node.js or npm is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("peer_nodered: Node.js and npm are not installed: nothing to compare against.")
        return None
    red = CACHE / "node_modules" / "node-red" / "red.js"
    if not red.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"installing node-red@{NODE_RED} into {CACHE} (once)…", flush=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"node-red@{NODE_RED}",
                f"node-red-contrib-influxdb@{CONTRIB_INFLUXDB}",
            ],
            cwd=CACHE,
            check=True,
        )
    return red


class NodeRed:
    def __init__(self, red: Path, workdir: Path, broker_port: int, influx: InfluxDB1, name: str):
        self.red = red
        self.user_dir = workdir / f"node-red-{name}"
        self.user_dir.mkdir(parents=True)
        self.log = self.user_dir / "node-red.log"
        self.database = f"nodered_{name}"
        flows = [
            {
                "id": "broker",
                "type": "mqtt-broker",
                "broker": "127.0.0.1",
                "port": str(broker_port),
                "clientid": f"nodered-{name}",
                "autoConnect": True,
                "usetls": False,
                "protocolVersion": "5",
                "keepalive": "60",
                "cleansession": True,
                "sessionExpiry": "",
            },
            {
                "id": "influx",
                "type": "influxdb",
                "hostname": "127.0.0.1",
                "port": str(influx.port),
                "protocol": "http",
                "database": self.database,
                "name": "",
                "usetls": False,
                "influxdbVersion": "1.x",
            },
            {"id": "flow", "type": "tab", "label": "coldchain"},
            {
                "id": "in",
                "type": "mqtt in",
                "z": "flow",
                "topic": f"$share/nodered-{name}/cc/v1/dev/+/up/readings",
                "qos": "1",
                "datatype": "json",
                "broker": "broker",
                "nl": False,
                "rap": True,
                "rh": 0,
                "inputs": 0,
                "x": 100,
                "y": 100,
                "wires": [["points"]],
            },
            {
                "id": "points",
                "type": "function",
                "z": "flow",
                "func": FUNCTION,
                "outputs": 1,
                "x": 300,
                "y": 100,
                "wires": [["write"]],
            },
            {
                "id": "write",
                "type": "influxdb batch",
                "z": "flow",
                "influxdb": "influx",
                "precision": "ms",
                "retentionPolicy": "",
                "x": 500,
                "y": 100,
                "wires": [],
            },
        ]
        (self.user_dir / "flows.json").write_text(json.dumps(flows))
        (self.user_dir / "settings.js").write_text(
            f"module.exports = {{ uiPort: {free_port()}, uiHost: '127.0.0.1',\n"
            "  httpAdminRoot: false, httpNodeRoot: false, flowFile: 'flows.json',\n"
            "  credentialSecret: false,\n"
            "  logging: { console: { level: 'info', metrics: false, audit: false } } };\n"
        )
        influx_query(influx, f'CREATE DATABASE "{self.database}"')
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    "node",
                    str(self.red),
                    "--userDir",
                    str(self.user_dir),
                    "--settings",
                    str(self.user_dir / "settings.js"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.user_dir,
            )
        deadline = time.monotonic() + 90
        while "Connected to broker" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        time.sleep(1.0)  # the subscription follows the connection

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


def influx_query(influx: InfluxDB1, q: str, database: str | None = None) -> dict[str, object]:
    params = {"q": q} | ({"db": database} if database else {})
    request = urllib.request.Request(
        f"{influx.url}/query", data=urllib.parse.urlencode(params).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def stored(influx: InfluxDB1, database: str, start_ms: int) -> int:
    answer = influx_query(
        influx, f'SELECT COUNT("seq") FROM "reading" WHERE time >= {start_ms}ms', database
    )
    try:
        return int(answer["results"][0]["series"][0]["values"][0][1])  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return 0


def measure(
    influx: InfluxDB1,
    database: str,
    broker_port: int,
    readings: int,
    per_message: int,
    start_ms: int,
    quiet_s: float = 10.0,
) -> tuple[float, int]:
    """(readings stored per second, lost): publish, then count until nothing new for quiet_s."""
    started = time.perf_counter()
    publisher = start_publisher(broker_port, readings, per_message, start_ms)
    last, last_change = 0, time.perf_counter()
    while True:
        time.sleep(0.25)
        now = stored(influx, database, start_ms)
        if now != last:
            last, last_change = now, time.perf_counter()
        if now >= readings or (
            publisher.poll() is not None and time.perf_counter() - last_change > quiet_s
        ):
            break
    publisher.wait()
    return last / (last_change - started), readings - last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="one round of 20,000 readings")
    args = parser.parse_args()
    rounds, total = (1, 20_000) if args.quick else (args.rounds, args.readings)
    red = install()
    if red is None:
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="coldchain-nodered-"))
    broker, influx = make_mosquitto(tmp / "mosquitto"), make_influxdb1(tmp / "influxdb")
    (tmp / "mosquitto").mkdir(exist_ok=True)
    broker.start()
    influx.start()
    offset = int(time.time() * 1000) - 60 * 24 * 3600 * 1000
    results: dict[tuple[str, int], list[tuple[float, int]]] = {}
    try:
        print(
            f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
            f"{rounds} rounds of {total:,} readings"
        )
        for r in range(rounds):
            for per_message in (10, 1):
                for system in ("gateway", "node-red"):
                    offset += 10**8
                    name = f"{system[0]}{r}m{per_message}"
                    if system == "gateway":
                        database = f"gateway_{name}"
                        gw = GatewayRun(
                            tmp,
                            broker.port,
                            {"kind": "influxdb1", "url": influx.url, "database": database},
                            name,
                        )
                        gw.start()
                        result = measure(influx, database, broker.port, total, per_message, offset)
                        gw.stop()
                    else:
                        nodered = NodeRed(red, tmp, broker.port, influx, name)
                        nodered.start()
                        result = measure(
                            influx, nodered.database, broker.port, total, per_message, offset
                        )
                        nodered.stop()
                    results.setdefault((system, per_message), []).append(result)
                    print(
                        f"round {r + 1} {system:9} {per_message:2}/message: "
                        f"{result[0]:9,.0f} readings/s, lost {result[1]:,}",
                        flush=True,
                    )
        print()
        for per_message in (10, 1):
            ours = [rate for rate, _ in results[("gateway", per_message)]]
            theirs = [rate for rate, _ in results[("node-red", per_message)]]
            lost_ours = sum(lost for _, lost in results[("gateway", per_message)])
            lost_theirs = sum(lost for _, lost in results[("node-red", per_message)])
            print(
                f"{per_message:2}/message: gateway median {statistics.median(ours):,.0f}/s "
                f"(lost {lost_ours:,}), Node-RED {NODE_RED} median "
                f"{statistics.median(theirs):,.0f}/s (lost {lost_theirs:,} of "
                f"{total * rounds:,}); ratio x{statistics.median(ours) / max(1.0, statistics.median(theirs)):.2f}"  # noqa: E501
            )
    finally:
        broker.stop()
        influx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
