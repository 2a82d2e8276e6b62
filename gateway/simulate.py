"""Simulated probes: publish contract payloads to a broker (tests, benchmark, demos).

    python -m gateway.simulate --host 127.0.0.1 --port 1883 --probes 200 --readings 100000

Readings are deterministic: probe `sim-NNN` sends its k-th reading with seq k at
`start_ms + k * interval_ms`, alternating the air and product channels, so a test knows
exactly which (probe, channel, time) keys must arrive.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from coldchain.protocol import Kind, Reading, ReadingsBatch, encode_readings, topic

CHANNELS = ("air", "product")


def probe_name(index: int) -> str:
    return f"sim-{index:03d}"


def fleet_batches(
    probes: int, total: int, per_message: int, start_ms: int, interval_ms: int = 1000
) -> Iterator[ReadingsBatch]:
    """`total` readings from `probes` probes, `per_message` per batch, probes interleaved."""
    per_probe = -(-total // probes)
    made = 0
    for first in range(0, per_probe, per_message):
        for p in range(probes):
            rows = []
            for k in range(first, min(first + per_message, per_probe)):
                if made >= total:
                    break
                value = round(2.0 + ((p * 7 + k) % 50) / 10, 2)
                rows.append(
                    Reading(probe_name(p), CHANNELS[k % 2], start_ms + k * interval_ms, k, value)
                )
                made += 1
            if rows:
                yield ReadingsBatch(probe_name(p), "sim-1.0", tuple(rows))


def expected_keys(
    probes: int, total: int, per_message: int, start_ms: int, interval_ms: int = 1000
) -> set[tuple[str, str, int]]:
    return {
        r.key
        for b in fleet_batches(probes, total, per_message, start_ms, interval_ms)
        for r in b.readings
    }


def connect(
    host: str,
    port: int,
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    tls_ca: Path | None = None,
    max_inflight: int = 100,
) -> mqtt.Client:
    """A probe-like publisher (MQTT 3.1.1, QoS 1), connected and looping in a thread."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv311
    )
    if username:
        client.username_pw_set(username, password)
    if tls_ca:
        client.tls_set(ca_certs=str(tls_ca))
    client.max_inflight_messages_set(max_inflight)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


class _Acks:
    """Counts PUBACKs: paho's MQTTMessageInfo raises for a message queued while disconnected,
    although paho sends it at reconnect, so a publisher that rides out a broker restart counts
    acknowledgements itself."""

    def __init__(self, client: mqtt.Client) -> None:
        self.count = 0
        self._cond = threading.Condition()
        client.on_publish = self._on_publish

    def _on_publish(self, *_args: object) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait(self, n: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= n, timeout)


def publish(
    client: mqtt.Client,
    batches: Iterable[ReadingsBatch],
    *,
    rate_per_s: float | None = None,
    timeout: float = 300.0,
) -> int:
    """Publish batches at QoS 1 and wait until the broker acknowledged all. Returns messages."""
    acks = _Acks(client)
    started = time.monotonic()
    sent = 0
    for batch in batches:
        client.publish(topic(batch.probe_id, Kind.READINGS), encode_readings(batch), qos=1)
        sent += 1
        if rate_per_s:
            ahead = sent / rate_per_s - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    if not acks.wait(sent, timeout):
        raise TimeoutError(f"the broker acknowledged {acks.count} of {sent} messages in time")
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--per-message", type=int, default=10)
    parser.add_argument(
        "--rate", type=float, help="messages per second (default: as fast as possible)"
    )
    parser.add_argument(
        "--start-ms", type=int, help="device time of the first reading (default: now - 1 day)"
    )
    args = parser.parse_args()
    start_ms = args.start_ms or int(time.time() * 1000) - 24 * 3600 * 1000
    client = connect(args.host, args.port, f"simulator-{time.time_ns()}")
    batches = fleet_batches(args.probes, args.readings, args.per_message, start_ms)
    sent = publish(client, batches, rate_per_s=args.rate)
    client.disconnect()
    client.loop_stop()
    print(f"published {sent} messages ({args.readings} readings), first device time {start_ms}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
