# Fills a probe's flash queue with a backlog (bench/firmware_bench.py), not deployed.
#   micropython prefill.py <data_dir> <readings> <unix time of the last one>
# Readings go 3 a minute (air, product, door), synced, boot 1: what 7 days offline leave behind.
import sys

from fsqueue import HAS_VALUE, FsQueue

data_dir, n, t_end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    import os

    os.mkdir(data_dir)
except OSError:
    pass
q = FsQueue(data_dir + "/queue")
t0 = t_end - (n // 3) * 60
for i in range(n):
    ch = (0, 1, 3)[i % 3]
    q.append(t0 + (i // 3) * 60, (350, 290, 0)[i % 3], ch, 0, HAS_VALUE, 1)
q.close()
print(q.depth(), q.segments())
