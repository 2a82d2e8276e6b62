# Crash test load for the flash queue (tests/firmware/test_queue_crash.py), not deployed.
#   micropython queue_stress.py <dir> <seed>
# Appends and acknowledges forever; prints "W <seq>" once a record is durable and
# "A <seq>" once an ack is durable. The test kills it at random moments and checks the queue.
import random
import sys

from fsqueue import FsQueue

root, seed = sys.argv[1], int(sys.argv[2])
random.seed(seed)
q = FsQueue(root, capacity_bytes=1 << 30, segment_records=32)
print("O", q.next_seq, q.acked)
t = 1795320000
while True:
    for _ in range(random.randint(1, 6)):
        t += 60
        seq = q.append(t, random.randint(-3000, 3000), random.randint(0, 4), 0, 1, seed & 0xFFFF)
        print("W", seq)
    if random.random() < 0.4:
        recs = q.peek(random.randint(1, 25))
        if recs:
            q.ack(recs[-1].seq)
            print("A", recs[-1].seq)
