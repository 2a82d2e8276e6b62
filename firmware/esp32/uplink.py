# Sends the flash queue over whichever link is up (mqtt.MQTTLink or serial_link.SerialLink):
# oldest first, in batches, one message in flight, acknowledged before the next. The backlog
# is paced (pace_ms between batches) so sampling and the alarm keep the CPU, and while it is
# long the newest readings also go out at once as "live" messages; they are sent again later in
# order, which is harmless: the server stores (probe, channel, time) once.
import asyncio
import time

import contract
from fsqueue import HAS_VALUE, RECORD, UPTIME, unpack


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
        # One message buffer for every batch (contract.ReadingsMessage): each send is
        # awaited before the next encode, so the view handed to the link stays valid.
        self.message = contract.ReadingsMessage(64 + 64 * self.batch)  # add() grows it if need be
        # The backlog's records as stored, copied here for each batch (FsQueue.peek_into).
        self.raw = bytearray(self.batch * RECORD)

    def _add(self, seq, t, centi, ch, fault, flags, boot):
        t_ms, unsynced = self.probe.clock.stamp(t, flags & UPTIME, boot)
        value = centi if flags & HAS_VALUE else None
        self.message.add(contract.encode_reading(seq, ch, t_ms, value, fault, unsynced))

    def encode(self, records):
        """Records (the live ones) -> the message to send."""
        probe = self.probe
        self.message.start(probe.id, probe.fw, probe.boot)
        for r in records:
            self._add(r.seq, r.t, r.centi, r.ch, r.fault, r.flags, r.boot)
        return self.message.done()

    def encode_raw(self, count):
        """The first `count` records of `raw` -> the message to send."""
        probe = self.probe
        self.message.start(probe.id, probe.fw, probe.boot)
        for i in range(count):
            self._add(*unpack(self.raw, i * RECORD))
        return self.message.done()

    def _held(self, flags, boot):
        # Readings of this boot taken before the clock was known wait (for a while) for the
        # first sync, so they can be sent with their true time instead of an estimate.
        clock = self.probe.clock
        return (
            flags & UPTIME
            and boot == self.probe.boot & 0xFFFF
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
                ready = [r for r in live if not self._held(r.flags, r.boot)]
                if ready:
                    await self.link.send("readings", self.encode(ready))
            found = queue.peek_into(self.raw)
            count = 0
            while count < found:
                flags, boot = unpack(self.raw, count * RECORD)[5:]
                if self._held(flags, boot):
                    break
                count += 1
            if not count:
                await self._idle(1000)
                continue
            if await self.link.send("readings", self.encode_raw(count)):
                queue.ack(unpack(self.raw, (count - 1) * RECORD)[0])  # only this task fills raw
                self.sent += count
                self.messages += 1
                if queue.depth():
                    await asyncio.sleep_ms(self.pace_ms)
            else:
                await asyncio.sleep_ms(500)
