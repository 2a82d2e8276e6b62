# Device time (docs/firmware.md, "Time").
#
# Readings are stamped with UTC seconds once the clock is known in this boot; before that with
# the seconds since boot and the UPTIME flag. At the first sync of a boot its anchor (UTC at
# uptime 0) is saved in flash, so pre-sync readings get their true time when they are sent,
# the same time on every resend. A boot that never synced is estimated from the last time known
# before it and flagged "u":1. The RTC is never trusted before a sync in this boot: after a power
# cut the ESP32 RTC restarts in 2000, after a soft reset it may be stale.
import contract

JUMP_S = 2  # a resync moving the clock more than this is counted as a jump
KEEP_BOOTS = 16


class Clock:
    def __init__(self, board, state, boot):
        self.board = board
        self.state = state  # persist.State: "anchors", "est" maps keyed by str(boot)
        self.boot = boot
        self.synced = False
        self.anchor = None
        self.jumps = 0
        self.last_sync_ms = None

    def uptime_s(self):
        return self.board.uptime_ms() // 1000

    def set_estimate(self, last_known_s):
        """At boot: the latest UTC time known before this boot (from the queue's tail)."""
        est = self.state.data.setdefault("est", {})
        prev = 0
        for k in est:
            prev = max(prev, est[k])
        est[str(self.boot)] = max(prev, last_known_s or 0)
        _trim(est)

    def sync(self):
        """Ask the board for UTC (NTP on ESP32). Returns True when the clock is known."""
        now = self.board.sync_time()
        if now is None or now < contract.EARLIEST_TIME_S:
            return False
        up = self.board.uptime_ms()
        anchor = now - up // 1000
        if self.synced and abs(anchor - self.anchor) > JUMP_S:
            self.jumps += 1
        self.anchor = anchor
        self.last_sync_ms = up
        if not self.synced:
            self.synced = True
            anchors = self.state.data.setdefault("anchors", {})
            anchors[str(self.boot)] = anchor
            _trim(anchors)
            self.state.save()
        return True

    def now(self):
        """(t, uptime_flag) for a new record."""
        if self.synced:
            return self.anchor + self.uptime_s(), False
        return self.uptime_s(), True

    def wall_s(self):
        return self.anchor + self.uptime_s() if self.synced else None

    def stamp(self, t, uptime_flag, boot):
        """Record time -> (t_ms, unsynchronised) for the payload."""
        if not uptime_flag:
            return t * 1000, False
        key = str(boot)
        anchor = self.state.data.get("anchors", {}).get(key)
        if anchor is not None:
            return (anchor + t) * 1000, False
        est = self.state.data.get("est", {}).get(key) or contract.EARLIEST_TIME_S
        return (max(est, contract.EARLIEST_TIME_S) + t) * 1000, True


def _trim(d):
    while len(d) > KEEP_BOOTS:
        d.pop(str(min(int(k) for k in d)))
