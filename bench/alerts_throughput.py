"""Alert engine throughput: readings judged per second, one process, 1,000 locations.

Run: .venv/bin/python bench/alerts_throughput.py [--locations 1000] [--minutes 60]

Each location is a van zone with one probe sending air, product and door every minute in one
message (three readings), 1 in 10 zones drifting through an excursion. The engine (checkpointed
incremental state machines) is compared with the naive approach measured in the same run:
re-judge the whole reorder window from scratch for every reading.
"""

from __future__ import annotations

import argparse
import random
import time

from alerts.engine import Engine
from alerts.limits import Lot
from alerts.location import LocationConfig, LocationKind
from alerts.machine import ChannelMachine
from coldchain.protocol import Reading

T0 = 1_795_165_200_000
MIN = 60_000
CATEGORIES = ["minced_meat", "poultry_meat", "chilled_retail", "quick_frozen", "offal"]
BASE = {"minced_meat": 0.5, "poultry_meat": 2.0, "chilled_retail": 3.0, "quick_frozen": -22.0,
        "offal": 1.0}  # fmt: skip


def messages(locations: int, minutes: int, seed: int = 7) -> list[tuple[str, list[Reading], int]]:
    """(location, readings of one message, arrival time), in arrival order."""
    rnd = random.Random(seed)
    out = []
    for minute in range(minutes):
        for n in range(locations):
            category = CATEGORIES[n % len(CATEGORIES)]
            drift = 3.0 if n % 10 == 0 and 20 <= minute < 45 else 0.0
            t = T0 + minute * MIN + n
            air = BASE[category] + drift + rnd.uniform(-0.3, 0.3)
            product = BASE[category] + drift / 2 + rnd.uniform(-0.1, 0.1)
            door = 1.0 if minute % 30 < 2 else 0.0
            probe = f"p{n}"
            out.append((f"zone-{n}", [
                Reading(probe, "air", t, 3 * minute, round(air, 2)),
                Reading(probe, "product", t, 3 * minute + 1, round(product, 2)),
                Reading(probe, "door", t, 3 * minute + 2, door),
            ], t + 500))  # fmt: skip
    return out


def build_engine(locations: int) -> Engine:
    engine = Engine()
    for n in range(locations):
        category = CATEGORIES[n % len(CATEGORIES)]
        config = LocationConfig(f"zone-{n}", LocationKind.VAN_ZONE, f"Zone {n}", "ambient")
        engine.configure(config, T0, [Lot(f"lot-{n}", category, T0 - MIN)])
    return engine


def run_engine(locations: int, minutes: int) -> tuple[float, int, int]:
    engine = build_engine(locations)
    batches = messages(locations, minutes)
    count = sum(len(b) for _, b, _ in batches)
    events = 0
    start = time.perf_counter()
    for location_id, readings, now_ms in batches:
        events += len(engine.ingest(location_id, readings, now_ms).events)
    elapsed = time.perf_counter() - start
    assert engine.counters["readings"] == count and not engine.rejected
    return count / elapsed, count, events


def run_naive(locations: int, minutes: int, window_ms: int) -> tuple[float, int]:
    """Per reading: keep the window's readings and judge all of them again from scratch."""
    engine = build_engine(locations)
    batches = messages(locations, minutes)
    windows: dict[tuple[str, str, str], list[Reading]] = {}
    count = 0
    start = time.perf_counter()
    for location_id, readings, _now in batches:
        ctx = engine.locations[location_id].ctx
        for r in readings:
            window = windows.setdefault((location_id, r.probe_id, r.channel), [])
            window.append(r)
            window.sort(key=lambda x: x.time_ms)
            while window[0].time_ms < r.time_ms - window_ms:
                window.pop(0)
            machine = ChannelMachine(r.probe_id, r.channel, ctx)
            for w in window:
                machine.step(w.time_ms, w.value, w.fault, w.clock_synced)
            count += 1
    return count / (time.perf_counter() - start), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--naive-locations", type=int, default=100)
    parser.add_argument("--window-min", type=int, default=30)
    args = parser.parse_args()
    rate, count, events = run_engine(args.locations, args.minutes)
    naive_rate, naive_count = run_naive(args.naive_locations, args.minutes, args.window_min * MIN)
    print(f"engine: {rate:,.0f} readings/s ({count:,} readings, {args.locations} locations, "
          f"{args.minutes} min of data, {events} alert events)")  # fmt: skip
    print(f"naive re-scan of a {args.window_min}-min window per reading: {naive_rate:,.0f} "
          f"readings/s ({naive_count:,} readings, {args.naive_locations} locations)")  # fmt: skip
    print(f"ratio engine / naive: {rate / naive_rate:.1f}x   target >= 200,000/s: "
          f"{'met' if rate >= 200_000 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
