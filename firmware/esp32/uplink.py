# Sends the flash queue over whichever link is up (mqtt.MQTTLink or serial_link.SerialLink):
# oldest first, in batches, one message in flight, acknowledged before the next. The backlog
# is paced (pace_ms between batches) so sampling and the alarm keep the CPU, and while it is
# long the newest readings also go out at once as "live" messages; they are sent again later in
# order, which is harmless: the server stores (probe, channel, time) once.
import asyncio
import time

import contract
from fsqueue import HAS_VALUE, UPTIME


class Uplink:
    def __init__(self, probe, link, batch=20, pace_ms=5, live_threshold=60, hold_unsynced_s=900):
        self.probe = probe
        self.link = link
        self.batch = min(batch, contract.MAX_READINGS_PER_MESSAGE)
        self.pace_ms = pace_ms
        self.live_threshold = live_threshold
        self.hold_unsynced_s = hold_unsynced_s
        self.live = []
        self.sent = 0
        self.messages = 0
        self.wake = asyncio.Event()
        self.beat = 0

    def encode(self, records):
        probe = self.probe
        rows = []
        for r in records:
            t_ms, unsynced = probe.clock.stamp(r.t, r.flags & UPTIME, r.boot)
            centi = r.centi if r.flags & HAS_VALUE else None
            rows.append(contract.encode_reading(r.seq, r.ch, t_ms, centi, r.fault, unsynced))
        return contract.encode_readings(probe.id, probe.fw, probe.boot, rows)

    def _held(self, r):
        # Readings of this boot taken before the clock was known wait (for a while) for the
        # first sync, so they can be sent with their true time instead of an estimate.
        clock = self.probe.clock
        return (
            r.flags & UPTIME
            and r.boot == self.probe.boot & 0xFFFF
            and not clock.synced
            and clock.uptime_s() < self.hold_unsynced_s
        )

    def added(self, record):
        """Called by the sampler after a record is durable in flash."""
        if self.probe.queue.depth() > self.live_threshold:
            self.live.append(record)
            del self.live[: -self.batch]
        self.wake.set()

    async def _idle(self, ms):
        self.wake.clear()
        try:
            await asyncio.wait_for_ms(self.wake.wait(), ms)
        except asyncio.TimeoutError:
            pass

    async def run(self):
        queue = self.probe.queue
        while True:
            # Real time, not probe time: a send waits on the network for up to response_s.
            self.beat = time.ticks_ms()
            if not self.link.up:
                await asyncio.sleep_ms(200)
                continue
            if self.live:
                live, self.live = self.live, []
                ready = [r for r in live if not self._held(r)]
                if ready:
                    await self.link.send("readings", self.encode(ready))
            records = queue.peek(self.batch)
            ready = []
            for r in records:
                if self._held(r):
                    break
                ready.append(r)
            if not ready:
                await self._idle(1000)
                continue
            if await self.link.send("readings", self.encode(ready)):
                queue.ack(ready[-1].seq)
                self.sent += len(ready)
                self.messages += 1
                if queue.depth():
                    await asyncio.sleep_ms(self.pace_ms)
            else:
                await asyncio.sleep_ms(500)
