# The flash queue on a real littlefs that fills up before the queue's own capacity
# (tests/firmware/test_queue_crash.py), not deployed. Prints JSON.
import json

import vfs
from fsqueue import HAS_VALUE, FsQueue


class RAMBlockDev:
    def __init__(self, block_size, num_blocks):
        self.block_size = block_size
        self.data = bytearray(block_size * num_blocks)

    def readblocks(self, n, buf, off=0):
        a = n * self.block_size + off
        buf[:] = self.data[a : a + len(buf)]

    def writeblocks(self, n, buf, off=None):
        a = n * self.block_size + (off or 0)
        self.data[a : a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.block_size
        if op == 5:
            return self.block_size
        if op == 6:
            return 0


dev = RAMBlockDev(4096, 24)  # 96 KiB: far less than the queue's 512 KiB capacity
vfs.VfsLfs2.mkfs(dev)
vfs.mount(vfs.VfsLfs2(dev), "/lfs")
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
