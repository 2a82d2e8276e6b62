# Reads a queue directory and prints it as JSON (tests/firmware/test_queue_crash.py).
#   micropython queue_dump.py <dir> <segment_records>
import json
import sys

from fsqueue import FsQueue

q = FsQueue(sys.argv[1], capacity_bytes=1 << 30, segment_records=int(sys.argv[2]))
seqs = [r.seq for r in q.peek(1 << 30)]
print(
    json.dumps(
        {
            "acked": q.acked,
            "next": q.next_seq,
            "seqs": seqs,
            "corrupt": q.corrupt,
            "torn": q.torn,
            "lost": q.lost,
            "segments": q.segments(),
        }
    )
)
