"""Alert engine memory over a day, and the time its state takes to save, at 1,000 probes.

Run: .venv/bin/python bench/alert_memory.py [--probes 1000] [--hours 24] [--save-s 10]
     .venv/bin/python bench/alert_memory.py --code REVISION --hours 3
        (the same run with the engine and the worker's state rows of REVISION, from git:
        before/after figures of a change, measured back to back on the same machine)
     .venv/bin/python bench/alert_memory.py --hours 2 --profile saves.prof
        (cProfile of the saves only; read with python -m pstats)
     .venv/bin/python bench/alert_memory.py --baseline [REVISION] --hours 7
        (the engine before incremental state, taken from git: REVISION, default BEFORE)

The engine runs as the alert worker runs it (not part of the test suite): readings are
written to the embedded SQLite reading store first (as the gateway does), the engine reads
it back for late data older than what it keeps (the worker's `history`), and every `--save-s`
seconds of device time the parts of its state that changed are written as rows of
alert_worker_state in an SQLite server database (server/alerting/db.py, `StateRows`), then
committed. Device time is accelerated: nothing sleeps.

The probes: one reading of air and one of product every 30 s each, spread over the 30 s;
ten probes per location, van zones (a lot on board) and cold rooms alternately. One probe in
twenty drifts 3 °C too warm for 30 minutes every 6 hours; van doors open 2 minutes every 2
hours; every hour one probe comes back from an hour without coverage and sends its newest
reading first, then its backlog oldest first (older than the kept window: read from the store).

Printed every simulated hour: the process memory (RSS and PSS, /proc/self/smaps_rollup), the
readings kept in memory, and the save times (the changed parts built, encoded and written in
the transaction; its commit, which the worker does after every batch anyway, apart); at the
end, the save times' quantiles (wall and CPU time), the slowest saves with the garbage
collector's share of them, the time the worker's garbage-collector policy takes after each
commit (server/alerting/worker.py, Collector: applied here as there), the slope of PSS after
the warm-up (the reorder history, 6 h, plus an hour) and its spread around the mean.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alerts.config import LocationConfig, LocationKind
from alerts.engine import Engine
from alerts.limits import Lot
from alerts.stream import Row
from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore

T0 = 1_795_165_200_000
SEC = 1000
MIN = 60 * SEC
HOUR = 60 * MIN
PERIOD = 30 * SEC  # each probe's recording interval
PER_LOCATION = 10
CATEGORIES = ["minced_meat", "poultry_meat", "chilled_retail", "offal"]
BASE = {"minced_meat": 0.5, "poultry_meat": 2.0, "chilled_retail": 3.0, "offal": 1.0}
REPO = Path(__file__).resolve().parents[1]
BEFORE = "aa616fb"  # the last commit whose engine saved its whole state in one document


def memory_mb() -> tuple[float, float]:
    """(RSS, PSS) of this process in MB, from /proc/self/smaps_rollup."""
    fields: dict[str, float] = {}
    with open("/proc/self/smaps_rollup", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0] in ("Rss:", "Pss:"):
                fields[parts[0]] = int(parts[1]) / 1024
    return fields["Rss:"], fields["Pss:"]


def location_of(n: int) -> str:
    return f"loc-{n // PER_LOCATION}"


def configure(engine: Engine, probes: int) -> None:
    for i in range((probes + PER_LOCATION - 1) // PER_LOCATION):
        members = tuple(f"p{n:05d}" for n in range(i * PER_LOCATION, (i + 1) * PER_LOCATION))
        category = CATEGORIES[i % len(CATEGORIES)]
        if i % 2 == 0:
            config = LocationConfig(
                f"loc-{i}", LocationKind.VAN_ZONE, f"Zone {i}", "ambient", probes=members
            )
            engine.configure(config, T0, [Lot(f"lot-{i}", category, T0 - MIN)])
        else:
            config = LocationConfig(
                f"loc-{i}", LocationKind.COLD_ROOM, f"Chambre {i}", category, probes=members
            )
            engine.configure(config, T0)


def readings_at(n: int, k: int, probes: int) -> list[Reading]:
    """Probe n's k-th message: air and product (and the door of a van when it changes)."""
    t = T0 + k * PERIOD + (n * PERIOD) // probes
    category = CATEGORIES[(n // PER_LOCATION) % len(CATEGORIES)]
    minute = (t - T0) // MIN
    drift = 3.0 if n % 20 == 0 and (minute + n) % 360 < 30 else 0.0
    wobble = ((k * 7 + n * 13) % 11 - 5) / 20
    probe = f"p{n:05d}"
    out = [
        Reading(probe, "air", t, 3 * k, round(BASE[category] + drift + wobble, 2)),
        # (never the same value for 3 h: that would be a stuck sensor, alerted on every probe)
        Reading(probe, "product", t, 3 * k + 1, round(BASE[category] + drift / 2 + wobble / 5, 2)),
    ]
    if (n // PER_LOCATION) % 2 == 0 and (minute + n) % 120 in (0, 2) and k % 2 == 0:
        door = 1.0 if (minute + n) % 120 == 0 else 0.0
        out.append(Reading(probe, "door", t, 3 * k + 2, door))
    return out


class StoreHistory:
    """The worker's `history` (server/alerting/worker.py), without places or calibration."""

    def __init__(self, store: SqliteReadingStore) -> None:
        self.store = store
        self.reads = 0

    def __call__(self, location: str, probe: str, channel: str, start: int, end: int) -> list[Row]:
        self.reads += 1
        found = self.store.readings(probe, start, end, channel)
        return [(r.time_ms, r.value, r.fault, r.clock_synced) for r in found]


def run(probes: int, hours: int, save_s: int, folder: Path, profile: str | None = None) -> int:
    from server.alerting.db import StateRows, worker_sessions
    from server.core.models.alerts import WorkerState

    store = SqliteReadingStore(folder / "readings.sqlite3")
    history = StoreHistory(store)
    engine = Engine(history=history)
    configure(engine, probes)
    db, sessions = worker_sessions(f"sqlite:///{folder / 'server.sqlite3'}")
    WorkerState.__table__.create(db)  # type: ignore[attr-defined]
    rows = StateRows()
    try:  # the worker's garbage-collector policy (server/alerting/worker.py, Collector)
        from server.alerting.worker import Collector

        collector: Collector | None = Collector()
    except ImportError:  # (--code of a revision before it: the collector's defaults)
        collector = None
    profiler = cProfile.Profile() if profile else None
    collecting: list[float] = [0.0, 0.0]  # when the running collection started, GC time so far

    full_gcs = [0]  # full collections (generation 2) so far

    def timed_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            collecting[1] += time.perf_counter() - collecting[0]
            full_gcs[0] += info["generation"] == 2

    gc.callbacks.append(timed_gc)
    save_gc: list[float] = []  # of each save's time, the garbage collector's
    save_full = 0  # saves with a full collection inside
    settles: list[float] = []  # the collector's turn after each commit (the worker's settle)
    settle_cpu: list[float] = []
    if collector is not None:  # as the worker does after its restore
        collector.settle(T0 / SEC)

    slot_ms = save_s * SEC
    per_slot = max(1, probes * slot_ms // PERIOD)  # probes whose messages fall in one slot
    absent: dict[int, list[Reading]] = {}  # a probe out of coverage: its readings held back
    pending: list[Reading] = []  # not yet in the store (written once a minute, in batches)
    saves: list[float] = []
    sizes: list[int] = []  # parts written by each save
    commits: list[float] = []
    save_cpu: list[float] = []  # the same in CPU time (a busy machine stretches wall time)
    hour_saves: list[float] = []
    hour_parts: list[int] = []
    samples: list[tuple[int, float, float]] = []
    events = 0
    started = time.perf_counter()
    print(
        f"{probes} probes, {probes // PER_LOCATION} locations, 1 reading of air and product "
        f"every {PERIOD // SEC} s, {hours} h of device time, state saved every {save_s} s"
    )
    print(" hour   RSS MB   PSS MB   rows kept   save ms (median / max)   parts/save   wall s")
    slots = hours * HOUR // slot_ms
    for slot in range(slots):
        now = T0 + (slot + 1) * slot_ms + SEC
        hour, into = divmod(slot * slot_ms, HOUR)
        if into == 0:  # a probe loses coverage for an hour
            absent[(hour * 37) % probes] = []
        for j in range(per_slot):
            flat = slot * per_slot + j
            k, n = divmod(flat, probes)
            batch = readings_at(n, k, probes)
            if n in absent:
                absent[n].extend(batch)
                continue
            pending.extend(batch)
            events += len(engine.ingest(location_of(n), batch, now).events)
        if into + slot_ms >= HOUR:  # back in coverage: the newest first, then the backlog
            for n, held in absent.items():
                store.write(held)  # the gateway stores what the broker delivers
                newest = [r for r in held if r.time_ms == held[-1].time_ms]
                events += len(engine.ingest(location_of(n), newest, now).events)
                for i in range(0, len(held), 20):
                    events += len(engine.ingest(location_of(n), held[i : i + 20], now).events)
            absent.clear()
        if (slot + 1) * slot_ms % MIN == 0:
            store.write(pending)
            pending.clear()
            events += len(engine.check_silence(now)) + len(engine.check_doors(now))
        with sessions() as session:
            if profiler is not None:
                profiler.enable()
            t = time.perf_counter()  # what the worker's save adds to the batch's transaction
            cpu = time.process_time()
            collected, fulls = collecting[1], full_gcs[0]
            if hasattr(engine, "changed_parts"):
                written = rows.save(session, engine.changed_parts())
            else:  # (--code of a revision before it)
                written = rows.save(session, engine.changes())
            session.flush()
            saves.append(time.perf_counter() - t)
            save_gc.append(collecting[1] - collected)
            save_full += full_gcs[0] > fulls
            save_cpu.append(time.process_time() - cpu)
            t = time.perf_counter()
            session.commit()  # the worker commits every batch, saving or not
            commits.append(time.perf_counter() - t)
            if profiler is not None:
                profiler.disable()
        if collector is not None:  # the worker's, after the commit and the acks
            t, cpu = time.perf_counter(), time.process_time()
            collector.settle(now / SEC)
            settles.append(time.perf_counter() - t)
            settle_cpu.append(time.process_time() - cpu)
        sizes.append(written)
        hour_saves.append(saves[-1])
        hour_parts.append(written)
        if into + slot_ms >= HOUR:
            rss, pss = memory_mb()
            samples.append((hour + 1, rss, pss))
            kept = sum(
                len(s.rows) for loc in engine.locations.values()
                for c in loc.streams.values() for s in c.values()
            )  # fmt: skip
            print(
                f"{hour + 1:5d} {rss:8.1f} {pss:8.1f} {kept:11,d}   "
                f"{1000 * statistics.median(hour_saves):8.1f} / {1000 * max(hour_saves):7.1f}"
                f"        {statistics.mean(hour_parts):9.0f}   {time.perf_counter() - started:6.0f}"
            )
            hour_saves, hour_parts = [], []
    store.close()
    db.dispose()
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    warm = 7
    steady = [(h, pss) for h, _, pss in samples if h > warm]
    print(
        f"saves: {len(saves)}, median {1000 * statistics.median(saves):.1f} ms, "
        f"p95 {1000 * quantile(saves, 0.95):.1f} ms, p99 {1000 * quantile(saves, 0.99):.1f} ms, "
        f"max {1000 * max(saves):.1f} ms; CPU time median "
        f"{1000 * statistics.median(save_cpu):.1f} ms, p95 "
        f"{1000 * quantile(save_cpu, 0.95):.1f} ms, p99 "
        f"{1000 * quantile(save_cpu, 0.99):.1f} ms, max {1000 * max(save_cpu):.1f} ms "
        f"(then the commit: median "
        f"{1000 * statistics.median(commits):.1f} ms); store read back {history.reads} times "
        f"for late data; "
        f"{events:,} alert events; {engine.counters['readings']:,} readings judged"
    )
    gc.callbacks.remove(timed_gc)
    slowest = sorted(range(len(saves)), key=saves.__getitem__)[-5:]
    print(
        "slowest saves: "
        + ", ".join(
            f"{1000 * saves[i]:.0f} ms ({sizes[i]} parts, GC {1000 * save_gc[i]:.0f} ms)"
            for i in reversed(slowest)
        )
        + f"; GC in saves: {1000 * sum(save_gc) / len(saves):.1f} ms a save on average, "
        f"{save_full} saves with a full collection inside"
        + f"; parts per save: median {statistics.median(sizes):.0f}, max {max(sizes)}"
    )
    if settles:
        print(
            f"the collector after each commit (server/alerting/worker.py, Collector): median "
            f"{1000 * statistics.median(settles):.1f} ms, p99 {1000 * quantile(settles, 0.99):.1f}"
            f" ms, max {1000 * max(settles):.1f} ms (with the hourly one in full); CPU median "
            f"{1000 * statistics.median(settle_cpu):.1f} ms, max {1000 * max(settle_cpu):.1f} ms"
        )
    if len(steady) >= 2:
        slope = statistics.linear_regression([h for h, _ in steady], [p for _, p in steady]).slope
        mean = statistics.mean(p for _, p in steady)
        spread = max(abs(p - mean) for _, p in steady) / mean
        print(
            f"after the warm-up ({warm} h): PSS {min(p for _, p in steady):.1f} to "
            f"{max(p for _, p in steady):.1f} MB, mean {mean:.1f} MB, slope "
            f"{slope:+.2f} MB/h, spread {100 * spread:.1f} % of the mean (target ±10 %): "
            f"{'met' if spread <= 0.10 else 'NOT met'}"
        )
    return 0


def quantile(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))]


def with_code(revision: str, argv: list[str]) -> int:
    """Run this bench (this file, `argv`) with the packages alerts, coldchain and server of
    `revision` first on the path: the code before a change, measured beside the change."""
    with tempfile.TemporaryDirectory(prefix="alert-memory-code-") as tmp:
        archive = subprocess.run(
            ["git", "archive", revision, "alerts", "coldchain", "server"],
            cwd=REPO, check=True, capture_output=True,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": tmp, "ALERT_MEMORY_CODE": tmp}
        print(f"code of {revision}:", flush=True)
        return subprocess.run([sys.executable, __file__, *argv], env=env, check=False).returncode


# --- baseline: the whole-document save of the engine before incremental state ----------------


def baseline(revision: str, hours: int) -> int:
    """Feed the engine of `revision` (before this change) `hours` of the same probes, then time
    what its worker did at each save: decode the previous document, encode the new one."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", revision, "alerts", "coldchain"],
            cwd=REPO, check=True, capture_output=True,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for probes in (100, 1000):
            code = (
                "import json, sys, time\n"
                f"sys.path.insert(0, {tmp!r}); sys.path.append({str(REPO)!r})\n"
                "import alerts.engine\n"
                f"assert alerts.engine.__file__.startswith({tmp!r})\n"
                "from bench.alert_memory import configure, readings_at, location_of, PERIOD, "
                "HOUR, memory_mb\n"
                "from alerts.engine import Engine\n"
                f"probes, hours = {probes}, {hours}\n"
                "engine = Engine(); configure(engine, probes)\n"
                "for flat in range(probes * hours * HOUR // PERIOD):\n"
                "    k, n = divmod(flat, probes)\n"
                "    batch = readings_at(n, k, probes)\n"
                "    engine.ingest(location_of(n), batch, batch[-1].time_ms + 1000)\n"
                "previous = json.dumps(engine.save())\n"
                "t = time.perf_counter(); json.loads(previous); decode = time.perf_counter() - t\n"
                "t = time.perf_counter(); doc = json.dumps(engine.save())\n"
                "encode = time.perf_counter() - t\n"
                "rss, pss = memory_mb()\n"
                "print(f'{probes:5d} probes, {hours} h: document {len(doc) / 1e6:.1f} MB, '\n"
                "      f'save {1000 * (decode + encode):.0f} ms (decode the previous '\n"
                "      f'{1000 * decode:.0f} + build and encode {1000 * encode:.0f}), '\n"
                "      f'PSS {pss:.0f} MB')\n"
            )
            subprocess.run([sys.executable, "-c", code], cwd=tmp, check=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24, help="device time simulated")
    parser.add_argument("--save-s", type=int, default=10, help="device seconds between saves")
    parser.add_argument(
        "--baseline",
        metavar="REVISION",
        nargs="?",
        const=BEFORE,
        help="time the whole-document save of the engine at REVISION (git; default: the last "
        "commit before incremental state), 100 and 1,000 probes after --hours of readings "
        "(7 is enough: that engine kept 6 h)",
    )
    parser.add_argument(
        "--code",
        metavar="REVISION",
        help="run with the engine and state rows of REVISION (git), e.g. HEAD: the figures "
        "before a change not yet committed",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile of the saves, to FILE")
    args = parser.parse_args()
    if args.code:
        argv = sys.argv[1:]
        i = argv.index("--code")
        return with_code(args.code, argv[:i] + argv[i + 2 :])
    code = os.environ.get("ALERT_MEMORY_CODE")
    if code:  # (with_code) the engine imported must be the revision's
        import alerts.engine

        assert alerts.engine.__file__ and alerts.engine.__file__.startswith(code)
    gc.freeze()  # the modules' objects: not part of what grows
    if args.baseline:
        return baseline(args.baseline, args.hours)
    with tempfile.TemporaryDirectory(prefix="alert-memory-") as tmp:
        return run(args.probes, args.hours, args.save_s, Path(tmp), args.profile)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
