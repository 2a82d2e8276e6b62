"""The validator's cost per reading, against a naive baseline measured in the same run.

    .venv/bin/python bench/parse_bench.py [--messages 2000] [--rounds 7]

Payloads are what the simulated fleet sends (gateway/simulate.py: 200 probes, 10 readings per
message, compact JSON, ~500 bytes). Measured over the same payloads, the cases taking turns in each
round; best, median and worst of the rounds:

- `parse_readings`: the gateway's call (plainly valid messages take the fast path);
- full validator: the path every refused or unusual message takes (decoder hooks for numbers,
  constants and duplicate keys, checks in contract order, reason codes);
- naive baseline: `json.loads` and the per-field checks, with none of the hardening (no
  nesting guard, no duplicate-key, NaN or huge-number refusal, no reason codes): the floor a
  Python validator of this contract can hope for.

The machine may be shared: run it more than once and quote ranges.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coldchain import protocol  # noqa: E402
from coldchain.protocol import Reading, ReadingsBatch, Rejection, validation  # noqa: E402
from gateway.simulate import fleet_batches  # noqa: E402

Payload = tuple[bytes, str]  # (payload, topic)


def naive_parse(payload: bytes, now_ms: int, topic_name: str) -> ReadingsBatch | None:
    """json.loads plus the contract's per-field checks, nothing else (None when invalid)."""
    obj: Any = json.loads(payload)
    probe_id = obj["id"]
    if obj["v"] != 1 or topic_name.split("/")[3] != probe_id:
        return None
    if not protocol.PROBE_ID_RE.fullmatch(probe_id):
        return None
    if not protocol.FIRMWARE_VERSION_RE.fullmatch(obj["fw"]):
        return None
    readings = []
    for raw in obj["r"]:
        spec = protocol.CHANNELS[raw["c"]]
        value = float(raw["v"])
        if not spec.low <= value <= spec.high:
            return None
        if not protocol.EARLIEST_TIME_MS <= raw["t"] <= now_ms + protocol.MAX_FUTURE_MS:
            return None
        readings.append(Reading(probe_id, raw["c"], raw["t"], raw["s"], value))
    return ReadingsBatch(probe_id, obj["fw"], tuple(readings), obj.get("boot"))


def full_validator(payload: bytes, now_ms: int, topic_name: str) -> object:
    probe_id = topic_name.split("/")[3]
    return validation._full_readings(payload, probe_id, now_ms)


def fleet_payloads(messages: int, per_message: int, start_ms: int) -> list[Payload]:
    batches = fleet_batches(200, messages * per_message, per_message, start_ms)
    return [
        (protocol.encode_readings(b), protocol.topic(b.probe_id, protocol.Kind.READINGS))
        for b in batches
    ]


def per_reading_us(
    parse: Callable[[bytes, int, str], object], payloads: list[Payload], now_ms: int
) -> float:
    readings = sum(len(json.loads(p)["r"]) for p, _ in payloads)
    started = time.perf_counter()
    for payload, topic_name in payloads:
        parse(payload, now_ms, topic_name)
    return (time.perf_counter() - started) / readings * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--per-message", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    now_ms = int(time.time() * 1000)
    payloads = fleet_payloads(args.messages, args.per_message, now_ms - 10**9)
    # The three must agree on these payloads, or the comparison means nothing.
    for payload, topic_name in payloads[:200]:
        expected = protocol.parse_readings(payload, now_ms, topic_name)
        assert not isinstance(expected, Rejection), expected
        assert full_validator(payload, now_ms, topic_name) == expected
        assert naive_parse(payload, now_ms, topic_name) == expected
    size = statistics.mean(len(p) for p, _ in payloads)
    print(f"{len(payloads):,} messages of {args.per_message} readings ({size:.0f} bytes), "
          f"{args.rounds} rounds; load average {os.getloadavg()[0]:.2f} "
          "(shared machine: figures are noisy)")  # fmt: skip
    cases: dict[str, Callable[[bytes, int, str], object]] = {
        "parse_readings": protocol.parse_readings,
        "full validator (refused/unusual path)": full_validator,
        "naive baseline (json.loads + checks)": naive_parse,
    }
    # Round-robin, so that a burst of load from elsewhere hits every case alike.
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, parse in cases.items():
            times[name].append(per_reading_us(parse, payloads, now_ms))
    best = {name: min(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:40s} best {min(t):5.2f} us/reading, median {statistics.median(t):5.2f}, "
              f"worst {max(t):5.2f}")  # fmt: skip
    naive = best["naive baseline (json.loads + checks)"]
    for name in ("parse_readings", "full validator (refused/unusual path)"):
        print(f"{name} / naive baseline: {best[name] / naive:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
