# The real board: a classic ESP32 (ESP32-DevKitC V4) on stock MicroPython >= 1.22. The pin map
# (hardware/wiring.md) does not fit an ESP32-S3, which has no GPIO 22 or 25.
# Pin map (fixed, shared with hardware/): 1-Wire GPIO4, I2C SDA 21 / SCL 22 at 400 kHz,
# door reed GPIO27 (pull-up, 1 = open, a cut wire reads open), buzzer GPIO25, LED GPIO26,
# button GPIO33 (pull-up, 0 = pressed), supply sense GPIO35 (ADC1, 11 dB, divider ratio 11).
# It cannot run on the unix port; tests/firmware/test_board_esp32.py imports it against fakes of
# machine/onewire/network/ntptime to check the pin map and the drivers' fault handling.
import asyncio
import binascii
import sys
import time

import machine
import onewire
import sensors

PIN_ONEWIRE = 4
PIN_SDA = 21
PIN_SCL = 22
PIN_DOOR = 27
PIN_BUZZER = 25
PIN_LED = 26
PIN_BUTTON = 33
PIN_SUPPLY = 35
SUPPLY_RATIO = 11  # 100 kOhm / 10 kOhm divider
SSD1306_ADDR = 0x3C
# Ports with a 2000 epoch return time.time() 30 years short (micropython#16490;
# docs/technical-notes.md#epoch).
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0


class DS18B20Bus:
    """DS18B20s on one 1-Wire bus, addressed by ROM id. Reads the scratchpad itself (instead of
    ds18x20.read_temp) to tell "nobody answered" (all 0xFF) from a CRC error."""

    def __init__(self, pin, rom_map):
        self.ow = onewire.OneWire(machine.Pin(pin))
        self.roms = [(binascii.unhexlify(rom), ch) for rom, ch in rom_map.items()]
        self.buf = bytearray(9)

    async def read(self):
        try:
            self.ow.reset(True)  # OSError when no device gives a presence pulse
            self.ow.writebyte(0xCC)  # skip ROM: all convert at once
            self.ow.writebyte(0x44)  # convert T
        except OSError:
            return [(ch, None, "disconnected") for _, ch in self.roms]
        await asyncio.sleep_ms(750)  # 12-bit conversion time, DS18B20 datasheet
        out = []
        for rom, ch in self.roms:
            out.append((ch,) + self._read_one(rom))
        return out

    def _read_one(self, rom):
        buf = self.buf
        try:
            self.ow.reset(True)
            self.ow.select_rom(rom)
            self.ow.writebyte(0xBE)  # read scratchpad
            self.ow.readinto(buf)
        except OSError:
            return None, "disconnected"
        if buf == b"\xff" * 9:
            return None, "disconnected"  # released bus: this ROM is not on it any more
        if self.ow.crc8(buf):
            return None, "crc_error"
        raw = buf[0] | (buf[1] << 8)
        if raw & 0x8000:
            raw -= 0x10000
        return sensors.classify_ds18b20(raw / 16)


class SSD1306:
    """128x64 I2C display, just enough to show four lines (framebuf does the drawing)."""

    INIT = (0xAE, 0x20, 0x00, 0x40, 0xA1, 0xA8, 63, 0xC8, 0xD3, 0, 0xDA, 0x12, 0xD5, 0x80,
            0xD9, 0xF1, 0xDB, 0x30, 0x81, 0xFF, 0xA4, 0xA6, 0x8D, 0x14, 0xAF)  # fmt: skip

    def __init__(self, i2c):
        import framebuf

        self.i2c = i2c
        self.buf = bytearray(128 * 64 // 8)
        self.fb = framebuf.FrameBuffer(self.buf, 128, 64, framebuf.MONO_VLSB)
        for c in self.INIT:
            self.i2c.writeto(SSD1306_ADDR, bytes((0x80, c)))

    def show(self, lines):
        self.fb.fill(0)
        for i, line in enumerate(lines[:4]):
            for j in range(0, min(len(line), 32), 16):  # 16 characters a row, wrapped once
                self.fb.text(line[j : j + 16], 0, (i * 2 + j // 16) * 8, 1)
        for c in (0x21, 0, 127, 0x22, 0, 7):
            self.i2c.writeto(SSD1306_ADDR, bytes((0x80, c)))
        self.i2c.writeto(SSD1306_ADDR, b"\x40" + self.buf)


class StdioPort:
    """The USB serial port (UART0, or USB CDC on an S3) shared with the REPL."""

    def __init__(self):
        import select

        import micropython

        micropython.kbd_intr(-1)  # a 0x03 byte inside a frame must not raise KeyboardInterrupt
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)

    def read_available(self):
        out = bytearray()
        while len(out) < 256 and self.poll.poll(0):
            out += sys.stdin.buffer.read(1)
        return bytes(out) if out else None

    def write(self, data):
        sys.stdout.buffer.write(data)


class Board:
    def __init__(self, cfg):
        Pin = machine.Pin
        self.cfg = cfg
        sensors_cfg = cfg.get("sensors", {})
        self._buzzer = Pin(PIN_BUZZER, Pin.OUT, value=0)
        self._led = Pin(PIN_LED, Pin.OUT, value=0)
        self._door = Pin(PIN_DOOR, Pin.IN, Pin.PULL_UP)
        self._button = Pin(PIN_BUTTON, Pin.IN, Pin.PULL_UP)
        self._button_was = 1
        self.ds = None
        if sensors_cfg.get("ds18b20"):
            self.ds = DS18B20Bus(PIN_ONEWIRE, sensors_cfg["ds18b20"])
        self.i2c = machine.I2C(0, sda=Pin(PIN_SDA), scl=Pin(PIN_SCL), freq=400000)
        self.sht = None
        sht = sensors_cfg.get("sht")
        if sht:
            self.sht = sensors.SHT(self.i2c, sht.get("addr", 0x44), sht.get("family", "sht4x"))
            self.sht_temp = sht.get("temp_channel")  # e.g. "air" when no DS18B20 measures it
        self.oled = None
        try:
            if SSD1306_ADDR in self.i2c.scan():
                self.oled = SSD1306(self.i2c)
        except OSError:
            pass  # no display: it is optional
        self.adc = machine.ADC(Pin(PIN_SUPPLY))
        self.adc.atten(machine.ADC.ATTN_11DB)
        self.wdt = None
        self.wlan = None
        self._up = 0
        self._last = time.ticks_ms()

    # --- time -----------------------------------------------------------------------------------

    def uptime_ms(self):
        # ticks_ms wraps (2**30 ms on ESP32, about 12 days): accumulate differences instead.
        # Called every 100 ms by the alarm task, far more often than the wrap period.
        now = time.ticks_ms()
        self._up += time.ticks_diff(now, self._last)
        self._last = now
        return self._up

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(ms)

    def sync_time(self):
        if self.wlan is None or not self.wlan.isconnected():
            return None
        import ntptime

        ntptime.host = self.cfg.get("ntp_host", "pool.ntp.org")
        try:
            ntptime.settime()  # blocks on DNS and a 1 s UDP timeout (docs/technical-notes.md#ntp)
        except (OSError, OverflowError):
            return None
        return time.time() + EPOCH_OFFSET

    # --- sensors ----------------------------------------------------------------------------------

    async def read_sensors(self):
        out = []
        if self.ds is not None:
            out.extend(await self.ds.read())
        if self.sht is not None:
            (t, tf), (h, hf) = await self.sht.read()
            out.append(("humidity", h, hf))
            if self.sht_temp:
                out.append((self.sht_temp, t, tf))
        if self.cfg.get("sensors", {}).get("supply", True):
            out.append(("battery", self.supply_v(), None))
        return out

    def door(self):
        return self._door.value()

    def button(self):
        now = self._button.value()
        pressed = self._button_was == 1 and now == 0  # falling edge; 100 ms polling debounces
        self._button_was = now
        return pressed

    def supply_v(self):
        return self.adc.read_uv() * SUPPLY_RATIO / 1000000

    def rssi(self):
        if self.wlan is not None and self.wlan.isconnected():
            return self.wlan.status("rssi")
        return None

    # --- outputs --------------------------------------------------------------------------------

    def buzzer(self, on):
        self._buzzer.value(1 if on else 0)

    def led(self, on):
        self._led.value(1 if on else 0)

    def display(self, lines):
        if self.oled is not None:
            try:
                self.oled.show(lines)
            except OSError:
                pass  # a display glitch must never stop the buzzer task

    def wdt_start(self, ms):
        self.wdt = machine.WDT(timeout=ms)  # cannot be stopped once started

    def wdt_feed(self):
        if self.wdt is not None:
            self.wdt.feed()

    def reset(self):
        machine.reset()

    def log(self, msg):
        print(msg)

    # --- network ----------------------------------------------------------------------------------

    async def net_up(self):
        import network

        if self.wlan is None:
            self.wlan = network.WLAN(network.STA_IF)
            self.wlan.active(True)
        if self.wlan.isconnected():
            return True
        for net in self.cfg.get("wifi", ()):
            self.wlan.connect(net["ssid"], net.get("password", ""))
            for _ in range(100):  # 10 s per network; a wrong password fails only on timeout
                if self.wlan.isconnected():
                    return True
                await asyncio.sleep_ms(100)
            self.wlan.disconnect()
        return False

    def net_lost(self):
        # Cheap, no reconnect attempt: the MQTT link polls it to drop a dead socket at once
        # instead of waiting 1.5 keepalives for the broker's silence.
        return self.wlan is not None and not self.wlan.isconnected()

    def serial_port(self):
        return StdioPort()
