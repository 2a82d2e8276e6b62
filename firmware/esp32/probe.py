# The probe application: sample, keep every reading, alarm locally, send when a link is up.
# Runs unchanged on an ESP32 (main.py + board_esp32.py) and on the unix port (sim_main.py +
# board_sim.py). The board object is the only thing that differs (docs/firmware.md).
import asyncio
import gc
import time

import contract
from alarm import LocalAlarm
from clock import Clock
from fsqueue import HAS_VALUE, UPTIME, FsQueue, Record, write_atomic
from persist import State, load_json
from uplink import Uplink

FW = "1.0.0"
DEFAULTS = {
    "interval_s": 60,
    "status_s": 300,
    "sync_s": 3600,
    "batch": 20,
    "backlog_pace_ms": 5,
    "live_threshold": 60,
    "hold_unsynced_s": 900,
    "queue_bytes": 524288,
    "wdt_ms": 30000,
    "max_unstable_boots": 3,
    "stable_s": 120,
    "safe_retry_s": 3600,
    "transport": "mqtt",
}
REJECTED_LOG_MAX = 8192


class Probe:
    def __init__(self, board, cfg, data_dir):
        self.board = board
        self.log = board.log
        self.cfg = {}
        self.cfg.update(DEFAULTS)
        self.cfg.update(cfg)
        self.id = cfg["id"]
        self.fw = FW
        self.dir = data_dir
        try:
            import os

            os.mkdir(data_dir)
        except OSError:
            pass  # exists
        self.state = State(data_dir + "/state.json")
        d = self.state.data
        # Boot-loop guard: `unstable` counts boots that did not stay up for stable_s.
        d["boot"] = d.get("boot", 0) + 1
        d["unstable"] = d.get("unstable", 0) + 1
        self.boot = d["boot"]
        self.safe = d["unstable"] > self.cfg["max_unstable_boots"]
        self.queue = FsQueue(data_dir + "/queue", self.cfg["queue_bytes"])
        self.clock = Clock(board, self.state, self.boot)
        tail = self.queue.tail()
        last = None
        if tail is not None:
            last = self.clock.stamp(tail.t, tail.flags & UPTIME, tail.boot)[0] // 1000
        self.clock.set_estimate(last)
        self.state.save()
        self.alarm = LocalAlarm(board)
        self.counters = {
            "config_rejected": 0,
            "alarm_rejected": 0,
            "oversize": 0,
            "unknown_topic": 0,
        }
        self.interval = self.cfg["interval_s"]
        self.settings = None
        stored = load_json(data_dir + "/probe_config.json")
        self._apply_config(stored if stored is not None else cfg.get("alarm_config"), persist=False)
        self.link = None
        self.uplink = None
        self.sample_beat = 0
        self.status_due = asyncio.Event()
        self.log("boot %d fw %s mode %s" % (self.boot, FW, "safe" if self.safe else "normal"))

    # --- configuration from down/config ----------------------------------------------------

    def _apply_config(self, raw, persist=True):
        if raw is None:
            return
        if not isinstance(raw, (bytes, str)):
            import json

            raw = json.dumps(raw)
        try:
            config = contract.parse_config(raw)
        except contract.Rejected as e:
            self._reject("config", e, raw)
            return
        self.interval = config["interval"]
        self.alarm.configure(config)
        if persist and config != self.settings:
            # Kept in flash: the next boot alarms with the same thresholds, before any network.
            write_atomic(self.dir + "/probe_config.json", raw)
            self.log("config applied: interval %d s" % self.interval)
        self.settings = config

    def _reject(self, kind, err, raw):
        self.counters[kind + "_rejected"] += 1
        self.log("%s rejected: %s (%s)" % (kind, err.reason, err.detail))
        # The bad item is kept for inspection, in a bounded log (oldest half rotated out).
        path = self.dir + "/rejected.log"
        try:
            import os

            if os.stat(path)[6] > REJECTED_LOG_MAX:
                os.rename(path, path + ".1")
        except OSError:
            pass
        try:
            with open(path, "ab") as f:
                f.write(("%s %s " % (kind, err.reason)).encode())
                f.write(
                    bytes(raw[:512]) if isinstance(raw, (bytes, bytearray)) else raw[:512].encode()
                )
                f.write(b"\n")
        except OSError as e:
            self.log("cannot keep rejected item: %r" % (e,))

    def on_down(self, kind, payload):
        if payload is None:
            self.counters["oversize"] += 1
            self.log("oversize %s message dropped" % kind)
            return
        if kind == "config":
            self._apply_config(payload)
        elif kind == "alarm":
            try:
                on, text, _, ring = contract.parse_alarm(payload)
            except contract.Rejected as e:
                self._reject("alarm", e, payload)
                return
            self.alarm.command(on, text, ring)
            self.log("remote alarm %s" % (("on" if ring else "shown") if on else "off"))
        else:
            self.counters["unknown_topic"] += 1

    # --- sampling ----------------------------------------------------------------------------

    def record(self, ch, value, fault):
        """One reading: into flash first, then to the alarm and the uplink."""
        code = contract.channel_code(ch)
        if fault is None and value is not None:
            low, high = contract.RANGES[code]
            if not low <= value <= high:
                fault = "out_of_range"
        centi = None
        if value is not None:
            centi = min(32767, max(-32768, int(round(value * 100))))
        t, uptime = self.clock.now()
        flags = (HAS_VALUE if centi is not None else 0) | (UPTIME if uptime else 0)
        fcode = contract.fault_code(fault)
        alarm_value = value if fault is None else None
        try:
            seq = self.queue.append(t, centi or 0, code, fcode, flags, self.boot)
        except OSError:
            # Flash refused it: the cab must still hear an excursion; then the sampler logs it.
            self.alarm.observe(ch, alarm_value, self.clock.uptime_s())
            raise
        self.alarm.observe(ch, alarm_value, self.clock.uptime_s())
        if self.uplink is not None:
            self.uplink.added(Record(seq, t, centi or 0, code, fcode, flags, self.boot & 0xFFFF))
        return seq

    async def _sampler(self):
        due = self.board.uptime_ms()
        while True:
            try:
                for ch, value, fault in await self.board.read_sensors():
                    self.record(ch, value, fault)
                self.sample_beat = self.board.uptime_ms()
            except Exception as e:  # noqa: BLE001 - logged; no beat, so the watchdog decides
                self.log("sampling failed: %r" % (e,))
            now = self.board.uptime_ms()
            # Absolute schedule: sleep overshoot never accumulates into drift; after a stall
            # (or an interval change) the next sample is taken at once, not in a burst.
            due = max(due + self.interval * 1000, now)
            await self.board.sleep_ms(due - now)

    async def _door(self):
        last = None
        while True:
            state = self.board.door()
            if state is not None and state != last:
                self.record("door", state, None)  # an event, when it happens
                last = state
            await asyncio.sleep_ms(100)

    async def _alarm(self):
        while True:
            if self.board.button() and self.alarm.sounding:
                self.alarm.silence()
                self.status_due.set()
                self.log("button: buzzer silenced")
            self.alarm.update(self.clock.uptime_s())
            await asyncio.sleep_ms(100)

    async def _clock(self):
        while True:
            ok = self.clock.sync()
            await self.board.sleep_ms(self.cfg["sync_s"] * 1000 if ok else 10000)

    # --- status and supervision ----------------------------------------------------------------

    def status(self):
        q = self.queue
        out = {"id": self.id, "online": True, "fw": FW, "boot": self.boot, "queue": q.depth()}
        out["sync"] = self.clock.synced
        if self.clock.synced:
            out["t"] = self.clock.wall_s() * 1000
        oldest = q.peek(1)
        if oldest:
            out["oldest"] = self.clock.stamp(oldest[0].t, oldest[0].flags & UPTIME, oldest[0].boot)[
                0
            ]
        out["heap"] = gc.mem_free()
        out["rssi"] = self.board.rssi()
        supply = self.board.supply_v()
        if supply is not None:
            out["supply"] = round(min(36.0, max(0.0, supply)), 2)
        out["lost"] = q.lost
        out["mode"] = "safe" if self.safe else "normal"
        out["silenced"] = self.alarm.silenced
        return contract.encode_status(out)

    async def _status(self):
        while True:
            for _ in range(self.cfg["status_s"]):  # in probe time: the simulator may run faster
                if self.status_due.is_set():
                    break
                await self.board.sleep_ms(1000)
            self.status_due.clear()
            if self.link is not None and self.link.up:
                await self.link.send("status", self.status())

    def _connected(self):
        self.status_due.set()

    async def _supervisor(self):
        stable = False
        wdt_started = False
        while True:
            await self.board.sleep_ms(1000)
            now = self.board.uptime_ms()
            sample_ok = now - self.sample_beat < (self.interval + 60) * 1000
            # (uplink beat in real ticks: its sends wait on the network, in real time)
            uplink_ok = (
                self.uplink is None or time.ticks_diff(time.ticks_ms(), self.uplink.beat) < 120000
            )
            # Fed only on evidence that sampling and the uplink both make progress
            # (docs/technical-notes.md#watchdog).
            if sample_ok and uplink_ok:
                if not wdt_started:
                    self.board.wdt_start(self.cfg["wdt_ms"])
                    wdt_started = True
                self.board.wdt_feed()
            if not stable and now >= self.cfg["stable_s"] * 1000:
                stable = True
                self.state.data["unstable"] = 0
                self.state.save()
                self.log("stable: boot-loop guard cleared")
            if self.safe and now >= self.cfg["safe_retry_s"] * 1000:
                self.log("safe mode: restarting to retry normal mode")
                self.board.reset()

    def _make_link(self):
        transport = self.cfg["transport"]
        if self.safe or transport == "none":
            return None
        if not contract.valid_probe_id(self.id):
            # The server would reject every message (and a REJ frees flash): keep them instead.
            self.log("config error: probe id %r is not valid, not sending" % (self.id,))
            return None
        if transport == "serial":
            from serial_link import SerialLink

            port = self.board.serial_port()
            response_s = self.cfg.get("serial_response_s", 10)
            return SerialLink(port, self.on_down, self._connected, self.log, response_s)
        from mqtt import MQTTLink

        user = self.cfg["mqtt"].get("user")
        if user is not None and user != self.id:
            # Under MQTT 3.1.1 Mosquitto PUBACKs a publish its ACL refused: the readings would
            # leave flash and vanish. Refuse to send at all; they stay queued until fixed.
            self.log(
                "config error: mqtt user %r is not the probe id %r, not sending" % (user, self.id)
            )
            return None
        return MQTTLink(
            self.board, self.cfg["mqtt"], self.id, self.on_down, self._connected, self.log
        )

    async def run(self):
        self.link = self._make_link()
        tasks = [self._sampler(), self._door(), self._alarm(), self._clock(), self._supervisor()]
        if self.link is not None:
            c = self.cfg
            self.uplink = Uplink(
                self,
                self.link,
                c["batch"],
                c["backlog_pace_ms"],
                c["live_threshold"],
                c["hold_unsynced_s"],
            )
            tasks += [self.link.run(), self.uplink.run(), self._status()]
        for t in tasks:
            asyncio.create_task(t)
        while True:
            await asyncio.sleep(3600)
