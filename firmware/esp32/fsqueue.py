# Store-and-forward queue of readings in flash (docs/firmware.md, "Flash queue").
#
# Every reading is appended here before anything else happens to it, and leaves only after
# the broker's PUBACK (or the gateway's serial ACK/REJ) for the message that carried it.
#
# Layout in `root`:
#   00000001.seg ...  append-only segments of SEGMENT_RECORDS fixed 16-byte records
#   cursor            highest acknowledged seq + lost count (8 bytes + CRC), replaced atomically
# Record: seq u32 | t u32 | value i16 (centi-units) | channel<<4 | fault | flags | boot u16 | crc16
#   flags: HAS_VALUE, UPTIME (t is seconds since the start of boot `boot`, clock not yet known).
#   crc16 is the low half of binascii.crc32 over the first 14 bytes: a record torn by a power
#   cut, or a sector gone bad, fails it and is skipped (counted in `corrupt`), never sent.
# 16 bytes a reading: 7 days x 3 channels x 1 a minute = 30,240 readings = 484 KiB < 512 KiB.
import binascii
import os
import struct

RECORD = 16
_FMT = "<IIhBBH"  # 14 bytes, then crc16
SEGMENT_RECORDS = 256  # 4 KiB: one littlefs block on ESP32
HAS_VALUE = 1
UPTIME = 2


def _crc16(buf, n):
    return binascii.crc32(memoryview(buf)[:n]) & 0xFFFF


def write_atomic(path, data):
    # Write-then-rename: littlefs and POSIX both rename atomically, so a power cut leaves
    # either the old or the new file, never half of one.
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def unpack(buf, off):
    """The record at `off` in a buffer of stored records: (seq, t, centi, ch, fault, flags,
    boot)."""
    seq, t, centi, cf, flags, boot = struct.unpack_from(_FMT, buf, off)
    return seq, t, centi, cf >> 4, cf & 15, flags, boot


class Record:
    __slots__ = ("seq", "t", "centi", "ch", "fault", "flags", "boot")

    def __init__(self, seq, t, centi, ch, fault, flags, boot):
        self.seq = seq
        self.t = t
        self.centi = centi
        self.ch = ch
        self.fault = fault
        self.flags = flags
        self.boot = boot


class FsQueue:
    def __init__(self, root, capacity_bytes=524288, segment_records=SEGMENT_RECORDS):
        self.root = root
        self.seg_records = segment_records
        self.seg_bytes = segment_records * RECORD
        # At least two segments: the one being written and the one being sent.
        self.max_segments = max(2, capacity_bytes // self.seg_bytes)
        self._rec = bytearray(RECORD)  # preallocated: append() allocates nothing per reading
        self._seg_buf = bytearray(self.seg_bytes)
        self.corrupt = 0  # records failing their CRC (torn tail, bad sector), skipped
        self.torn = 0  # segments found with a torn tail at open
        try:
            os.mkdir(root)
        except OSError:
            pass
        self._segs = sorted(int(n[:-4]) for n in os.listdir(root) if n.endswith(".seg"))
        self._last_seq = {}  # segment -> last valid seq (lazy cache)
        self.acked, self.lost = self._load_cursor()
        self._file = None
        self._count = 0  # records in the active segment
        last = self._find_last()
        self.next_seq = max(last if last is not None else 0, self.acked) + 1
        if self._segs:
            size = os.stat(self._path(self._segs[-1]))[6]
            self._count = size // RECORD
            if size % RECORD or (size and self._tail_bad(self._segs[-1], size)):
                # A power cut tore the last record: never append after garbage, start afresh.
                self.torn += 1
                self._count = self.seg_records

    # --- files -----------------------------------------------------------------------------

    def _path(self, seg):
        return "%s/%08d.seg" % (self.root, seg)

    def _load_cursor(self):
        try:
            with open(self.root + "/cursor", "rb") as f:
                raw = f.read()
            if len(raw) == 10 and struct.unpack_from("<H", raw, 8)[0] == _crc16(raw, 8):
                return struct.unpack_from("<II", raw, 0)
        except OSError:
            pass
        # No or damaged cursor: resend everything still in flash (duplicates are harmless,
        # the server stores (probe, channel, time) once); lost count restarts at 0.
        return 0, 0

    def _save_cursor(self):
        raw = bytearray(10)
        struct.pack_into("<II", raw, 0, self.acked, self.lost)
        struct.pack_into("<H", raw, 8, _crc16(raw, 8))
        write_atomic(self.root + "/cursor", raw)

    def _read_segment(self, seg):
        """Fill the shared buffer with a segment; returns the number of whole records."""
        try:
            with open(self._path(seg), "rb") as f:
                n = f.readinto(self._seg_buf)
        except OSError:
            return 0
        return (n or 0) // RECORD

    def _valid(self, off):
        buf = self._seg_buf
        return struct.unpack_from("<H", buf, off + 14)[0] == _crc16(memoryview(buf)[off:], 14)

    def _tail_bad(self, seg, size):
        n = self._read_segment(seg)
        return n == 0 or not self._valid((n - 1) * RECORD)

    def _seg_last_seq(self, seg):
        if seg in self._last_seq:
            return self._last_seq[seg]
        n = self._read_segment(seg)
        last = None
        for i in range(n - 1, -1, -1):
            if self._valid(i * RECORD):
                last = struct.unpack_from("<I", self._seg_buf, i * RECORD)[0]
                break
        if seg != (self._segs[-1] if self._segs else None):
            self._last_seq[seg] = last  # only closed segments are final
        return last

    def _find_last(self):
        for seg in reversed(self._segs):
            last = self._seg_last_seq(seg)
            if last is not None:
                return last
        return None

    # --- writing -------------------------------------------------------------------------------

    def append(self, t, centi, ch, fault, flags, boot):
        """Make one reading durable; returns its sequence number."""
        if self._file is None or self._count >= self.seg_records:
            self._roll()
        seq = self.next_seq
        rec = self._rec
        struct.pack_into(_FMT, rec, 0, seq, t, centi, (ch << 4) | fault, flags, boot & 0xFFFF)
        struct.pack_into("<H", rec, 14, _crc16(rec, 14))
        try:
            self._write(rec)
        except OSError:
            # Filesystem full before the queue's own capacity (littlefs metadata, other files)
            # or a write error; the record may be torn in this segment. littlefs needs a few
            # free blocks to work (copy-on-write, metadata compaction): freeing one segment
            # would let only a handful of records in before the next ENOSPC. So learn the real
            # capacity, keep two segments of headroom, continue in a fresh segment and retry
            # once; a second failure goes to the caller.
            self.max_segments = max(2, len(self._segs) - 2)
            self._count = self.seg_records
            self._roll()
            self._write(rec)
        self._count += 1
        self.next_seq = seq + 1
        return seq

    def _write(self, rec):
        self._file.write(rec)
        self._file.flush()  # littlefs commits on flush (lfs_file_sync): durable from here

    def _roll(self):
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass  # a failed write left it unflushable; its valid records stay readable
            self._file = None
            if self._segs:
                self._seg_last_seq(self._segs[-1])  # cache it now that it is final
        if not self._segs or self._count >= self.seg_records:
            while len(self._segs) >= self.max_segments:
                self._drop_oldest()
            self._segs.append(self._segs[-1] + 1 if self._segs else 1)
            self._count = 0
            self._last_seq.pop(self._segs[-1], None)
        self._file = open(self._path(self._segs[-1]), "ab")

    def _drop_oldest(self):
        # Queue full: the oldest readings go, and the gap is counted and reported (`lost`).
        seg = self._segs[0]
        n = self._read_segment(seg)
        unsent = 0
        last = None
        for i in range(n):
            off = i * RECORD
            if self._valid(off):
                seq = struct.unpack_from("<I", self._seg_buf, off)[0]
                last = seq
                if seq > self.acked:
                    unsent += 1
        self._segs.pop(0)
        self._last_seq.pop(seg, None)
        if last is not None and last > self.acked:
            self.acked = last
        self.lost += unsent
        self._save_cursor()
        os.remove(self._path(seg))

    # --- reading and acknowledging -------------------------------------------------------------

    def _unacked(self):
        """Offsets in the shared segment buffer of the valid unacknowledged records, oldest
        first; each is to be read before the next is asked for (the buffer is refilled)."""
        for seg in list(self._segs):
            last = self._last_seq.get(seg)
            if last is not None and last <= self.acked:
                continue
            n = self._read_segment(seg)
            buf = self._seg_buf
            for i in range(n):
                off = i * RECORD
                seq = struct.unpack_from("<I", buf, off)[0]
                if seq <= self.acked:
                    continue
                if not self._valid(off):
                    self.corrupt += 1
                    continue
                yield off

    def peek(self, limit):
        """Up to `limit` unacknowledged records, oldest first."""
        out = []
        for off in self._unacked():
            out.append(Record(*unpack(self._seg_buf, off)))
            if len(out) >= limit:
                break
        return out

    def peek_into(self, raw):
        """Copy the oldest unacknowledged records, as stored (RECORD bytes each), into the
        caller's buffer `raw` (kept for its life); returns how many. The uplink sends its
        backlog this way: a Record object per reading cost about 6 KB of heap per batch on
        the unix port (MicroPython ignores __slots__: each instance has its own table)."""
        limit = len(raw) // RECORD
        count = 0
        if not limit:
            return 0
        stored = memoryview(self._seg_buf)
        for off in self._unacked():
            raw[count * RECORD : (count + 1) * RECORD] = stored[off : off + RECORD]
            count += 1
            if count >= limit:
                break
        return count
        return count

    def ack(self, upto_seq):
        """Everything up to `upto_seq` was acknowledged: move the cursor, free whole segments."""
        if upto_seq <= self.acked:
            return
        self.acked = upto_seq
        self._save_cursor()
        while len(self._segs) > 1:
            seg = self._segs[0]
            last = self._seg_last_seq(seg)
            if last is not None and last > self.acked:
                break
            self._segs.pop(0)
            self._last_seq.pop(seg, None)
            os.remove(self._path(seg))

    def tail(self):
        """The newest valid record (at boot: the last time known before this boot)."""
        for seg in reversed(self._segs):
            n = self._read_segment(seg)
            for i in range(n - 1, -1, -1):
                off = i * RECORD
                if self._valid(off):
                    seq, t, centi, cf, flags, boot = struct.unpack_from(_FMT, self._seg_buf, off)
                    return Record(seq, t, centi, cf >> 4, cf & 15, flags, boot)
        return None

    def depth(self):
        return max(0, self.next_seq - 1 - self.acked)

    def segments(self):
        return len(self._segs)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
