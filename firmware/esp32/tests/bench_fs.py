# MicroPython side of bench/firmware_bench.py (not deployed): sampling cost, heap, queue rates
# and flash use, each next to a naive baseline measured in the same run.
#   micropython bench_fs.py <tmp dir>   -> JSON on stdout
import gc
import json
import os
import sys
import time

import contract
import micropython
from alarm import LocalAlarm
from fsqueue import HAS_VALUE, FsQueue

root = sys.argv[1]


class NullBoard:
    def buzzer(self, on):
        pass

    led = display = buzzer


class NaiveQueue:
    """The baseline: a JSON list in one file, rewritten whole for every change."""

    def __init__(self, path):
        self.path = path
        with open(path, "w") as f:
            f.write("[]")

    def append(self, item):
        with open(self.path) as f:
            items = json.load(f)
        items.append(item)
        with open(self.path, "w") as f:
            json.dump(items, f)

    def pop(self, n):
        with open(self.path) as f:
            items = json.load(f)
        out, rest = items[:n], items[n:]
        with open(self.path, "w") as f:
            json.dump(rest, f)
        return out


def rate(n, us):
    return n * 1000000 / us if us else 0


def bench_samples(n):
    """One sample = 3 readings: validate range, append to flash, feed the alarm.
    Returns (us per sample, bytes allocated per sample, resident heap of queue + alarm)."""
    gc.collect()
    base = gc.mem_alloc()
    q = FsQueue(root + "/sample_q")
    alarm = LocalAlarm(NullBoard())
    alarm.configure({"alarm": {"air": (4.0, None, 900)}, "offsets": {"air": -0.3}})
    ranges = contract.RANGES
    total0 = micropython.mem_total()
    t0 = time.ticks_us()
    for i in range(n):
        for ch, value in ((0, 3.5 + i % 7 / 10), (1, 2.9), (3, 0)):
            lo, hi = ranges[ch]
            fault = 0 if lo <= value <= hi else 5
            q.append(1795320000 + i * 60, int(round(value * 100)), ch, fault, HAS_VALUE, 1)
            alarm.observe(contract.CHANNELS[ch], value, i * 60)
        alarm.update(i * 60)
    us = time.ticks_diff(time.ticks_us(), t0)
    alloc = micropython.mem_total() - total0
    gc.collect()
    resident = gc.mem_alloc() - base
    q.close()
    return us / n, alloc / n, resident


def bench_naive_samples(n):
    """Same readings into the naive queue; its RAM need is the whole list it reloads each time."""
    q = NaiveQueue(root + "/naive_samples.json")
    gc.collect()
    total0 = micropython.mem_total()
    t0 = time.ticks_us()
    for i in range(n):
        for ch, value in (("air", 3.5), ("product", 2.9), ("door", 0)):
            q.append({"s": i, "c": ch, "t": 1795320000000 + i * 60000, "v": value})
    us = time.ticks_diff(time.ticks_us(), t0)
    alloc = (micropython.mem_total() - total0) / n
    gc.collect()
    base = gc.mem_alloc()
    with open(q.path) as f:
        items = json.load(f)
    resident = gc.mem_alloc() - base
    del items
    return us / n, alloc, resident


def append_read_rates(n, append, take):
    """Entries per second: `append(i)` n times, then `take()` (how many it read, 0 at the
    end) until the queue is empty."""
    t0 = time.ticks_us()
    for i in range(n):
        append(i)
    append_us = time.ticks_diff(time.ticks_us(), t0)
    t0 = time.ticks_us()
    done = 0
    while True:
        got = take()
        if not got:
            break
        done += got
    return rate(n, append_us), rate(done, time.ticks_diff(time.ticks_us(), t0))


def bench_append_read(n):
    q = FsQueue(root + "/rate_q")

    def take():
        recs = q.peek(20)
        if recs:
            q.ack(recs[-1].seq)
        return len(recs)

    rates = append_read_rates(n, lambda i: q.append(1795320000 + i, 350, 0, 0, HAS_VALUE, 1), take)
    q.close()
    return rates


def bench_naive_append_read(n):
    q = NaiveQueue(root + "/naive_rate.json")

    def append(i):
        q.append({"s": i, "c": "air", "t": 1795320000000 + i * 1000, "v": 3.5})

    return append_read_rates(n, append, lambda: len(q.pop(20)))


def littlefs_used(fill):
    import vfs
    from ramdisk import mount_littlefs

    mount_littlefs("/lfs", 160)  # 640 KiB partition, 4 KiB blocks as on the ESP32
    try:
        st = os.statvfs("/lfs")
        free0 = st[3]
        count = fill("/lfs")
        if count < 0:
            return -count, None
        st = os.statvfs("/lfs")
        return count, (free0 - st[3]) * st[0]
    finally:
        vfs.umount("/lfs")


NAIVE_N = 400  # the baseline is O(n) per operation: kept small so the bench ends
WEEK = 7 * 24 * 60 * 3  # 7 days, 3 channels, one reading a minute


def fill_queue(path):
    q = FsQueue(path + "/q")
    assert q.seg_bytes == 4096  # one littlefs block per segment (bigger ones measured worse)
    for i in range(WEEK):
        q.append(1795320000 + i * 20, 350 + i % 50, i % 3, 0, HAS_VALUE, 1)
    q.close()
    return q.depth()


def fill_naive(path):
    # Appending with the whole-file rewrite would take hours here: write the final file once.
    written = 0
    try:
        with open(path + "/naive.json", "w") as f:
            f.write("[")
            for i in range(WEEK):
                item = {"s": i, "c": "air", "t": 1795320000000 + i * 20000, "v": 3.5}
                f.write(("," if i else "") + json.dumps(item))
                written = i + 1
            f.write("]")
    except OSError:
        return -written  # ENOSPC: the week does not fit; report how much did
    return written


out = {}
_t = time.ticks_ms()


def lap(name):
    global _t
    now = time.ticks_ms()
    sys.stderr.write("%s %d ms\n" % (name, time.ticks_diff(now, _t)))
    _t = now


out["sample_us"], out["sample_alloc_bytes"], out["resident_heap"] = bench_samples(2000)
lap("-")
n = NAIVE_N // 3
naive = bench_naive_samples(n)
out["naive_sample_us"], out["naive_sample_alloc_bytes"], out["naive_resident_heap"] = naive
lap("-")
out["append_per_s"], out["read_per_s"] = bench_append_read(20000)
lap("-")
out["naive_append_per_s"], out["naive_read_per_s"] = bench_naive_append_read(NAIVE_N)
lap("-")
out["naive_n"] = NAIVE_N
out["week_readings"], out["week_flash_bytes"] = littlefs_used(fill_queue)
lap("-")
out["naive_week_readings"], out["naive_week_flash_bytes"] = littlefs_used(fill_naive)
lap("-")
print(json.dumps(out))
