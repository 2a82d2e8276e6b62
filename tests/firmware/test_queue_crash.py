"""Power cuts on the flash queue: kill the firmware's queue at random moments, restart, check.

A SIGKILL stops MicroPython between two system calls; a power cut on flash can also leave half
a record. The second case is reproduced by appending a torn record (a partial one, or a full
one whose CRC cannot match) to the last segment before some restarts, as a cut in the middle of
the write of the next reading would.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import FIRMWARE
from tests.firmware.conftest import FW_TESTS
from tests.harness.servers import MicroPython

SEGMENT_RECORDS = 32  # queue_stress.py rolls segments often to cross every code path


def _tear_tail(root: Path, rng: random.Random) -> None:
    segments = sorted(root.glob("*.seg"))
    if not segments:
        return
    garbage = rng.randbytes(rng.choice([1, 7, 15, 16]))
    with segments[-1].open("ab") as f:
        f.write(garbage)


def _dump(micropython: MicroPython, root: Path) -> dict[str, Any]:
    done = micropython.run(
        FW_TESTS / "queue_dump.py", module_path=[FIRMWARE], args=[str(root), str(SEGMENT_RECORDS)]
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_random_kills_lose_nothing_and_corrupt_nothing(
    micropython: MicroPython, tmp_path: Path
) -> None:
    root = tmp_path / "queue"
    rng = random.Random(20261122)
    written: set[int] = set()
    acked = 0
    torn = 0
    kills = 60
    for i in range(kills):
        proc = micropython.popen(
            FW_TESTS / "queue_stress.py",
            module_path=[FIRMWARE],
            args=[str(root), str(i + 1)],
            stdout=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.03, 0.25))
        proc.kill()
        out, _ = proc.communicate()
        text = out.decode()
        complete = text[: text.rfind("\n") + 1]  # a kill can cut the last line short
        for line in complete.splitlines():
            tag, _, value = line.partition(" ")
            if tag == "W":
                written.add(int(value))
            elif tag == "A":
                acked = max(acked, int(value))
        if i % 3 == 2:
            _tear_tail(root, rng)
            torn += 1

        state = _dump(micropython, root)
        seqs = state["seqs"]
        assert isinstance(seqs, list)
        # Nothing durable is lost: every reported write is either acknowledged or still queued.
        assert state["acked"] >= acked
        missing = [s for s in written if s > state["acked"] and s not in seqs]
        assert not missing, f"run {i}: lost {missing[:10]}"
        # Readable, in order, and contiguous: a torn record's number is reused, not skipped.
        assert seqs == sorted(set(seqs))
        if seqs:
            assert seqs == list(range(seqs[0], seqs[-1] + 1))
            assert seqs[0] == state["acked"] + 1
        assert state["next"] == (seqs[-1] + 1 if seqs else state["acked"] + 1)
        assert state["lost"] == 0
    assert len(written) > 200, "the load did not write enough to mean anything"
    assert acked > 0
    assert torn >= 15


def test_full_queue_drops_oldest_segment_and_counts_the_loss(
    micropython: MicroPython, tmp_path: Path
) -> None:
    script = f"""
import json
from fsqueue import FsQueue
q = FsQueue({str(tmp_path / "q")!r}, capacity_bytes=4 * 64 * 16, segment_records=64)
for i in range(4 * 64 + 10):
    q.append(1795320000 + i, 100, 0, 0, 1, 1)
first = q.peek(1)[0].seq
q.close()
q = FsQueue({str(tmp_path / "q")!r}, capacity_bytes=4 * 64 * 16, segment_records=64)
print(json.dumps({{"lost": q.lost, "first": first, "again": q.peek(1)[0].seq,
                   "depth": q.depth(), "segments": q.segments(), "next": q.next_seq}}))
"""
    done = micropython.run(script, module_path=[FIRMWARE])
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    # 4 segments of 64: writing the 257th reading drops the oldest 64, reported as lost.
    assert state == {
        "lost": 64, "first": 65, "again": 65, "depth": 202, "segments": 4, "next": 267,
    }  # fmt: skip


def test_filesystem_full_before_the_queue_is_a_counted_loss_not_a_stop(
    micropython: MicroPython,
) -> None:
    # A real littlefs (MicroPython's VfsLfs2 on a RAM block device) of 96 KiB under a queue
    # allowed 512 KiB: littlefs reports ENOSPC long before the queue thinks it is full.
    done = micropython.run(FW_TESTS / "queue_enospc.py", module_path=[FIRMWARE])
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["appended"] == 12000 and state["contiguous"]  # every append succeeded
    # Nothing vanished silently: what was dropped is counted, the rest is queued in order.
    assert state["lost"] + state["queued"] == 12000
    assert state["gaps"] == 0 and state["last"] == 12000 and state["corrupt"] == 0
    assert state["first"] == state["acked"] + 1
    # The queue learned the filesystem's real size and kept headroom for littlefs.
    assert state["segments"] <= state["max_segments"] < 24
    assert state["queued"] > 4000
