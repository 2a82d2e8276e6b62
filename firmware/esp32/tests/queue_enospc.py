# The flash queue on a real littlefs that fills up before the queue's own capacity
# (tests/firmware/test_queue_crash.py), not deployed. Prints JSON.
import json

from fsqueue import HAS_VALUE, FsQueue
from ramdisk import mount_littlefs

mount_littlefs("/lfs", 24)  # 96 KiB: far less than the queue's 512 KiB capacity
q = FsQueue("/lfs/q")
seqs = []
for i in range(12000):
    seqs.append(q.append(1795320000 + i, 350, 0, 0, HAS_VALUE, 1))
# Read everything back in chunks (peek does not move the cursor: step it by hand, then restore).
acked, first, last, queued, gaps = q.acked, None, None, 0, 0
while True:
    recs = q.peek(500)
    if not recs:
        break
    for r in recs:
        if last is not None and r.seq != last + 1:
            gaps += 1
        first = r.seq if first is None else first
        last = r.seq
        queued += 1
    q.acked = last
q.acked = acked
print(
    json.dumps(
        {
            "appended": len(seqs),
            "contiguous": seqs == list(range(1, 12001)),
            "lost": q.lost,
            "acked": q.acked,
            "first": first,
            "last": last,
            "queued": queued,
            "gaps": gaps,
            "segments": q.segments(),
            "max_segments": q.max_segments,
            "corrupt": q.corrupt,
        }
    )
)
