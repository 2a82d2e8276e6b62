# Simulated board for the MicroPython unix port: tests and the simulator (docs/firmware.md).
#
# Sensors follow a scenario file (JSON): piecewise-linear series per channel, sensor faults given
# as the raw value the real driver would see, door events, supply voltage, and a scenario clock
# running `speed` times faster than the host's (so a 5-minute outage takes 5 s at speed 60).
# Everything a driver would see or hear is printed as a line on stdout:
#   EV buzzer 0|1   EV led 0|1   EV display <line>|<line>   EV wdt <ms>   EV reset
# and the button is a file: creating <data_dir>/button presses it once.
import asyncio
import json
import select
import sys
import time

import sensors


def _interp(points, s):
    if not points:
        return None
    if s <= points[0][0]:
        return points[0][1]
    for i in range(1, len(points)):
        t1, v1 = points[i]
        if s <= t1:
            t0, v0 = points[i - 1]
            return v0 + (v1 - v0) * (s - t0) / (t1 - t0) if t1 > t0 else v1
    return points[-1][1]


def _step(points, s):
    value = None
    for t, v in points:
        if t <= s:
            value = v
    return value


class PtyPort:
    """A pty (or any tty/file) as the probe's USB serial port."""

    def __init__(self, path):
        self.f = open(path, "r+b")
        self.poll = select.poll()
        self.poll.register(self.f, select.POLLIN)

    def read_available(self):
        # FileIO.read(n) waits for all n bytes on a tty, so read one byte per ready poll.
        out = bytearray()
        while len(out) < 1024 and self.poll.poll(0):
            b = self.f.read(1)
            if not b:
                break
            out += b
        return bytes(out) if out else None

    def write(self, data):
        self.f.write(data)


# At 60x a 30 s watchdog is half a second of host time: a busy test machine that deschedules
# this process that long would "reset" a healthy probe (seen in CI). The emulated watchdog
# therefore also needs this much host time without a feed before it bites.
HOST_STALL_MS = 3000


class SimBoard:
    def __init__(self, scenario_path, data_dir, cfg):
        with open(scenario_path) as f:
            sc = json.load(f)
        self.sc = sc
        self.dir = data_dir
        self.cfg = cfg
        self.speed = sc.get("speed", 1)
        self.t0 = sc.get("t0", time.time())
        self.start = sc.get("start", int(self.t0))
        self.meets_real_at = sc.get("meets_real_at")  # the demo: real time from then on
        self._ticks0 = time.ticks_ms()
        self._up = 0
        self._last_ticks = self._ticks0
        self._out = {}
        self.sht = sensors.SHT(None)
        self._wdt = None  # (timeout ms, uptime of the last feed, host ticks of the last feed)

    # --- time ---------------------------------------------------------------------------------

    def _speed_now(self):
        # The demo's clock (coldchain/clock.py) runs fast until it meets real time, then is
        # real time: the scenario does the same, so the probe never stamps the future.
        meets = self.meets_real_at
        return self.speed if meets is None or time.time() < meets else 1

    def scenario_s(self):
        now = time.time()
        meets = self.meets_real_at
        if meets is None or now < meets:
            return (now - self.t0) * self.speed
        return (meets - self.t0) * self.speed + (now - meets)

    def uptime_ms(self):
        now = time.ticks_ms()
        self._up += time.ticks_diff(now, self._last_ticks) * self._speed_now()
        self._last_ticks = now
        up = int(self._up)
        # The watchdog, emulated in probe time: the alarm task asks for the time every 100 ms,
        # so a task that hangs while the loop still runs is caught here as on the chip.
        if (
            self._wdt is not None
            and up - self._wdt[1] > self._wdt[0]
            and time.ticks_diff(now, self._wdt[2]) > HOST_STALL_MS
        ):
            print("EV wdt-reset")
            sys.exit(4)
        return up

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(int(ms / self._speed_now()))

    def sync_time(self):
        after = self.sc.get("sync_after", 0)
        s = self.scenario_s()
        if after is None or s < after:
            return None
        return int(self.start + s)

    # --- sensors ------------------------------------------------------------------------------

    def _fault(self, ch, s):
        for f in self.sc.get("faults", ()):
            if f["c"] == ch and f.get("from", 0) <= s < f.get("to", 1e12):
                return f
        return None

    async def read_sensors(self):
        s = self.scenario_s()
        hang = self.sc.get("hang_after")
        if hang is not None and s >= hang:
            await asyncio.Event().wait()  # a driver stuck for good (e.g. a bus held low)
        out = []
        series = self.sc.get("series", {})
        for ch in ("air", "product", "humidity"):
            if ch not in series:
                continue
            value = _interp(series[ch], s)
            fault = self._fault(ch, s)
            if ch == "humidity":
                out.append(("humidity",) + self._sht(value, fault))
                continue
            raw = value
            if fault is not None:
                raw = fault["raw"]
            if raw == "crc":
                out.append((ch, None, "crc_error"))
            elif raw == "not_ready":
                out.append((ch, None, "not_ready"))
            else:
                out.append((ch,) + sensors.classify_ds18b20(raw))
        if "supply" in self.sc:
            out.append(("battery", self.sc["supply"], None))
        return out

    def _sht(self, rh, fault):
        # Encode the value the way an SHT4x sends it, then decode it with the real driver code.
        if fault is not None and fault["raw"] == "nack":
            return None, "i2c_nack"
        raw_h = int((rh + 6) * 65535 / 125)
        raw_t = int((20 + 45) * 65535 / 175)
        buf = bytearray(6)
        buf[0], buf[1] = raw_t >> 8, raw_t & 0xFF
        buf[2] = sensors.crc8_sensirion(buf[0:2])
        buf[3], buf[4] = raw_h >> 8, raw_h & 0xFF
        buf[5] = sensors.crc8_sensirion(buf[3:5])
        if fault is not None and fault["raw"] == "crc":
            buf[5] ^= 0xFF
        _, hum = self.sht.convert(buf)
        if hum[0] is not None:
            return round(hum[0], 2), hum[1]
        return hum

    def door(self):
        return _step(self.sc.get("door", ()), self.scenario_s())

    def button(self):
        import os

        try:
            os.remove(self.dir + "/button")
            return True
        except OSError:
            return False

    def supply_v(self):
        return self.sc.get("supply")

    def rssi(self):
        return self.sc.get("rssi")

    # --- outputs ------------------------------------------------------------------------------

    def _event(self, name, value):
        if self._out.get(name) != value:
            self._out[name] = value
            print("EV", name, value)

    def buzzer(self, on):
        self._event("buzzer", 1 if on else 0)

    def led(self, on):
        self._event("led", 1 if on else 0)

    def display(self, lines):
        self._event("display", "|".join(lines))

    def wdt_start(self, ms):
        print("EV wdt", ms)
        self._wdt = (ms, self.uptime_ms(), time.ticks_ms())

    def wdt_feed(self):
        if self._wdt is not None:
            self._wdt = (self._wdt[0], self.uptime_ms(), time.ticks_ms())

    def reset(self):
        print("EV reset")
        sys.exit(3)

    def log(self, msg):
        print("LOG", msg)

    # --- network -----------------------------------------------------------------------------

    def _offline(self):
        # "offline": [[from_s, to_s], ...]: no network (a van in a dead zone), scenario time.
        s = self.scenario_s()
        return any(a <= s < b for a, b in self.sc.get("offline", ()))

    async def net_up(self):
        return not self._offline()

    def net_lost(self):
        return self._offline()

    def serial_port(self):
        return PtyPort(self.cfg["serial_path"])
