"""Faults from outside, at full length: what the suite tests short, measured here long.

    .venv/bin/python bench/faults.py [--only kills,outage,...] [--outage-s 120]

Real Mosquitto (persistence on, as shipped), the gateway as a real process, InfluxDB 1.6.7 as
the sink, the server on a real uvicorn; each scenario in a fresh temporary folder:

- kills:     100,000 readings streamed while the gateway is killed (-9) five times
- outage:    InfluxDB stopped for --outage-s seconds (default 120) under a stream
- broker:    Mosquitto restarted in the middle of a stream
- burst:     30,000 readings published as fast as one client can, gateway running
- takeover:  a probe's account connects with the gateway's client id and a clean start while
             the gateway is away with 1,000 messages queued for it, then stays connected
- logins:    30 people logging in at once, then 1,000 failed logins from 1,000 forged
             addresses, while another process writes to the database as the alert worker does
- pages:     20 API readers (cold rooms, alerts) while 1,000 readings/s arrive

For each it prints what was sent, stored, lost and duplicated (readings), the number of HTTP
5xx answers and of refused connections or requests (where they apply). Nothing here asserts:
it reports. The suite's versions of these tests (tests/gateway/test_resilience.py,
tests/coldchain/test_client_ids.py, tests/server/test_login_limits.py) assert.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from coldchain.readingstore.influxdb import InfluxQLReadingStore  # noqa: E402
from gateway.simulate import connect, expected_keys, fleet_batches, publish  # noqa: E402
from tests.gateway.conftest import GatewayProcess, gateway_env, past_start_ms  # noqa: E402
from tests.harness.servers import (  # noqa: E402
    GATEWAY_USER,
    InfluxDB1,
    Mosquitto,
    make_influxdb1,
    make_mosquitto,
)
from tests.server.world import PASSWORD  # noqa: E402


@dataclass
class Outcome:
    scenario: str
    sent: int = 0
    stored: int | None = 0  # None: not a reading scenario
    lost: int = 0
    duplicated: int = 0
    http_5xx: int | None = None
    refused: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        def opt(n: int | None) -> str:
            return "-" if n is None else str(n)

        return (
            f"{self.scenario:9} {self.sent:>8} {opt(self.stored):>8} {self.lost:>6} "
            f"{self.duplicated:>6} {opt(self.http_5xx):>5} {opt(self.refused):>7} "
            f"{self.seconds:>7.1f}  {'; '.join(self.notes)}"
        )


@dataclass
class Stream:
    """`total` readings from `probes` probes at `rate` messages/s (0: as fast as possible)."""

    port: int
    total: int
    rate: float
    probes: int = 50
    per_message: int = 10
    start_ms: int = field(default_factory=past_start_ms)
    sent: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            client = connect("127.0.0.1", self.port, "bench-publisher")
            batches = fleet_batches(self.probes, self.total, self.per_message, self.start_ms)
            self.sent = publish(client, batches, rate_per_s=self.rate or None, timeout=900)
            client.disconnect()
            client.loop_stop()
        except BaseException as exc:  # reported in the table, not raised from a thread
            self.error = exc

    def start(self) -> Stream:
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join(900)
        if self.error is not None:
            raise RuntimeError(f"publisher failed: {self.error!r}")


def tally(outcome: Outcome, influx: InfluxDB1, stream: Stream, wait_s: float = 300) -> None:
    """Wait until the store holds the stream (or wait_s passes), then count lost / doubled."""
    store = InfluxQLReadingStore(influx.url, "coldchain")
    deadline = time.monotonic() + wait_s
    while store.count() < stream.total and time.monotonic() < deadline:
        time.sleep(1)
    keys: list[tuple[str, str, int]] = []
    for p in range(stream.probes):
        keys += [r.key for r in store.readings(f"sim-{p:03d}", stream.start_ms, 2**62 // 10**6)]
    expected = expected_keys(stream.probes, stream.total, stream.per_message, stream.start_ms)
    outcome.sent = stream.total
    outcome.stored = len(set(keys))
    outcome.lost = len(expected - set(keys))
    outcome.duplicated = len(keys) - len(set(keys))


def gateway(workdir: Path, broker: Mosquitto, influx: InfluxDB1, **extra: str) -> GatewayProcess:
    gw = GatewayProcess(
        workdir, gateway_env(workdir, broker, {"kind": "influxdb1", "url": influx.url}, **extra)
    )
    gw.start()
    return gw


def servers(folder: Path, flavour: str = "anonymous") -> tuple[Mosquitto, InfluxDB1]:
    (folder / "mqtt").mkdir()
    (folder / "influx").mkdir()
    broker, influx = make_mosquitto(folder / "mqtt", flavour), make_influxdb1(folder / "influx")
    broker.start()
    influx.start()
    return broker, influx


def kills(folder: Path, _args: argparse.Namespace) -> Outcome:
    out = Outcome("kills")
    broker, influx = servers(folder)
    try:
        gw = gateway(folder, broker, influx)
        stream = Stream(broker.port, total=100_000, rate=1000).start()  # ~10,000 readings/s
        rng = random.Random(7)
        for _ in range(5):
            time.sleep(rng.uniform(0.5, 2.0))
            gw.kill()
            gw.start()
        stream.join()
        tally(out, influx, stream)
        gw.stop()
        out.notes.append(f"{gw.starts - 1} kill -9")
    finally:
        broker.stop()
        influx.stop()
    return out


def outage(folder: Path, args: argparse.Namespace) -> Outcome:
    out = Outcome("outage")
    broker, influx = servers(folder)
    try:
        gw = gateway(folder, broker, influx, sink_max_backoff_s="2")
        seconds = args.outage_s + 10
        stream = Stream(broker.port, total=int(seconds * 1000), rate=100).start()  # 1,000/s
        time.sleep(3)
        influx.stop()
        time.sleep(args.outage_s)
        influx.start()
        stream.join()
        tally(out, influx, stream)
        gw.stop()
        out.notes.append(f"InfluxDB down {args.outage_s:g} s")
    finally:
        broker.stop()
        influx.stop()
    return out


def broker_restart(folder: Path, _args: argparse.Namespace) -> Outcome:
    out = Outcome("broker")
    broker, influx = servers(folder)
    try:
        # One gateway: a plain subscription survives a Mosquitto restart (docs/gateway.md).
        gw = gateway(folder, broker, influx, shared_subscription="false")
        stream = Stream(broker.port, total=50_000, rate=500).start()
        time.sleep(3)
        broker.restart()
        stream.join()
        tally(out, influx, stream)
        gw.stop()
    finally:
        broker.stop()
        influx.stop()
    return out


def burst(folder: Path, _args: argparse.Namespace) -> Outcome:
    out = Outcome("burst")
    broker, influx = servers(folder)
    try:
        gw = gateway(folder, broker, influx)
        stream = Stream(broker.port, total=30_000, rate=0, per_message=1).start()
        stream.join()
        tally(out, influx, stream)
        gw.stop()
        out.notes.append("1 reading per message, unthrottled")
    finally:
        broker.stop()
        influx.stop()
    return out


def takeover(folder: Path, _args: argparse.Namespace) -> Outcome:
    """A probe's password with the gateway's client id: refused, or given its own id."""
    out = Outcome("takeover")
    broker, influx = servers(folder, "acl")
    try:
        gw_id = GATEWAY_USER
        extra = {"client_id": gw_id}
        env = gateway_env(folder, broker, {"kind": "influxdb1", "url": influx.url}, gw_id)
        env |= {
            "COLDCHAIN_MQTT__USERNAME": GATEWAY_USER,
            "COLDCHAIN_MQTT__PASSWORD": broker.users[GATEWAY_USER],
        }
        env |= {f"COLDCHAIN_GATEWAY__{k.upper()}": v for k, v in extra.items()}
        gw = GatewayProcess(folder, env)
        gw.start()
        gw.stop()  # away: its session (and subscription) stays with the broker
        probe = connect(
            "127.0.0.1",
            broker.port,
            "probe-01",
            username="probe-01",
            password=broker.users["probe-01"],
        )
        batches = list(fleet_batches(1, 1000, 1, past_start_ms()))
        batches = [
            type(b)(
                "probe-01",
                b.firmware,
                tuple(
                    type(r)("probe-01", r.channel, r.time_ms, r.seq, r.value) for r in b.readings
                ),
            )
            for b in batches
        ]
        publish(probe, iter(batches), rate_per_s=None, timeout=120)
        probe.disconnect()
        probe.loop_stop()
        # The attack: the probe's account, the gateway's client id, a clean start.
        refused = Counter[str]()
        thief = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=gw_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        thief.username_pw_set("probe-01", broker.users["probe-01"])
        connected = threading.Event()

        def answered(
            _c: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None
        ) -> None:
            refused.update([str(rc)])
            connected.set()

        thief.on_connect = answered
        try:
            thief.connect("127.0.0.1", broker.port, clean_start=True)
            thief.loop_start()
            connected.wait(10)
            time.sleep(2)
        finally:
            thief.loop_stop()
            thief.disconnect()
        gw.start()
        store = InfluxQLReadingStore(influx.url, "coldchain")
        deadline = time.monotonic() + 60
        while store.count() < 1000 and time.monotonic() < deadline:
            time.sleep(0.5)
        out.sent, out.stored = 1000, store.count()
        out.lost = out.sent - out.stored
        out.refused = sum(n for rc, n in refused.items() if rc != "Success")
        # Accepted is not a takeover when the broker gave the connection the probe's own
        # client id (use_username_as_clientid): what counts is the gateway's queue, `lost`.
        out.notes.append(f"CONNACK {dict(refused)}")
        gw.stop()
    finally:
        broker.stop()
        influx.stop()
    return out


def logins(folder: Path, _args: argparse.Namespace) -> Outcome:
    import httpx

    from coldchain.readingstore.sqlite import SqliteReadingStore
    from tests.server import test_login_limits as limits

    out = Outcome("logins")
    store = SqliteReadingStore(folder / "readings.sqlite3")
    url = f"sqlite:///{folder / 'coldchain.sqlite3'}"
    _migrate(url)
    app = limits._app(
        url,
        folder,
        store,
        forwarded_allow_ips=["127.0.0.1"],
        argon2_time_cost=2,
        argon2_memory_kib=19456,
    )
    emails = [f"chauffeur{n}@example.be" for n in range(30)]
    for email in emails:
        limits._user(app, email)
    statuses: Counter[int] = Counter()
    with limits.served(app) as base, limits.background_writer(url) as writer_errors:
        barrier = threading.Barrier(len(emails))

        def log_in(email: str) -> int:
            with httpx.Client(base_url=base, timeout=60) as http:
                barrier.wait()
                body = {"email": email, "password": PASSWORD}
                return http.post(limits.LOGIN, json=body).status_code

        with ThreadPoolExecutor(len(emails)) as pool:
            statuses.update(pool.map(log_in, emails))
        with httpx.Client(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=20)
        ) as http:

            def fail(n: int) -> int:
                forged = {"X-Forwarded-For": f"203.0.{n // 250}.{n % 250}"}
                body = {"email": emails[n % 30], "password": f"devine {n}"}
                return http.post(limits.LOGIN, json=body, headers=forged).status_code

            with ThreadPoolExecutor(20) as pool:
                statuses.update(pool.map(fail, range(1000)))
    out.sent, out.stored = 1030, None  # requests
    out.http_5xx = sum(n for status, n in statuses.items() if status >= 500)
    out.refused = statuses[429]
    out.notes.append(f"statuses {dict(sorted(statuses.items()))}")
    out.notes.append(f"background writer errors {len(writer_errors)}")
    store.close()
    return out


def _migrate(url: str) -> None:
    from server.core.db import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    engine.dispose()


def pages(folder: Path, _args: argparse.Namespace) -> Outcome:
    """20 readers of the API (cold rooms, alerts) while the gateway takes 1,000 readings/s."""
    import httpx

    from tests.server import test_login_limits as limits

    out = Outcome("pages")
    broker, influx = servers(folder)
    try:
        gw = gateway(folder, broker, influx)
        from coldchain.readingstore.influxdb import InfluxQLReadingStore as Store

        url = f"sqlite:///{folder / 'coldchain.sqlite3'}"
        _migrate(url)
        app = limits._app(url, folder, Store(influx.url, "coldchain"))  # type: ignore[arg-type]
        limits._user(app)
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        stream = Stream(broker.port, total=60_000, rate=100).start()  # 1,000 readings/s
        with limits.served(app) as base:
            with httpx.Client(base_url=base, timeout=30) as http:
                token = http.post(
                    limits.LOGIN, json={"email": limits.EMAIL, "password": PASSWORD}
                ).json()
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            stop = time.monotonic() + 55

            def reader(_: int) -> None:
                with httpx.Client(base_url=base, timeout=30, headers=bearer) as http:
                    while time.monotonic() < stop:
                        t = time.perf_counter()
                        path = ("/api/v1/cold-rooms", "/api/v1/alerts")[len(latencies) % 2]
                        status = http.get(path).status_code
                        latencies.append(time.perf_counter() - t)
                        statuses[status] += 1

            with ThreadPoolExecutor(20) as pool:
                list(pool.map(reader, range(20)))
        stream.join()
        tally(out, influx, stream)
        gw.stop()
        latencies.sort()
        out.http_5xx = sum(n for status, n in statuses.items() if status >= 500)
        p95 = latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0
        out.notes.append(f"{len(latencies)} requests, p95 {p95:.0f} ms, {dict(statuses)}")
    finally:
        broker.stop()
        influx.stop()
    return out


SCENARIOS: dict[str, Callable[[Path, argparse.Namespace], Outcome]] = {
    "kills": kills,
    "outage": outage,
    "broker": broker_restart,
    "burst": burst,
    "takeover": takeover,
    "logins": logins,
    "pages": pages,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    parser.add_argument("--outage-s", type=float, default=120.0)
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    results = []
    print(
        f"{'scenario':9} {'sent':>8} {'stored':>8} {'lost':>6} {'double':>6} {'5xx':>5} "
        f"{'refused':>7} {'seconds':>7}  notes"
    )
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix=f"coldchain-fault-{name}-") as tmp:
            t = time.monotonic()
            try:
                outcome = SCENARIOS[name](Path(tmp), args)
            except Exception as exc:  # one broken scenario must not hide the others' figures
                outcome = Outcome(name, notes=[f"FAILED: {exc!r}"[:300]])
            outcome.seconds = time.monotonic() - t
        print(outcome.row(), flush=True)
        results.append(outcome.__dict__)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
