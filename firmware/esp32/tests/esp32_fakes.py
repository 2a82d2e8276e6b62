# Checks board_esp32.py on the unix port against fakes of the ESP32-only modules (not deployed).
# Only the pins and buses are fake (they cannot exist here); the driver code is the real one.
#   micropython esp32_fakes.py  -> JSON report on stdout
import asyncio
import json
import sys


class Pin:
    OUT = 1
    IN = 0
    PULL_UP = 2
    made = {}

    def __init__(self, n, mode=None, pull=None, value=None):
        self.n = n
        self.mode = mode
        self.pull = pull
        self.v = value if value is not None else 1
        Pin.made[n] = self

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class I2C:
    def __init__(self, bus, sda=None, scl=None, freq=None):
        self.args = (bus, sda.n, scl.n, freq)
        self.reply = b""
        self.nack = False
        self.written = []

    def scan(self):
        return [0x44]

    def writeto(self, addr, data):
        if self.nack:
            raise OSError(19)  # ENODEV: what the ESP32 port raises on a NACK
        self.written.append((addr, bytes(data)))

    def readfrom_into(self, addr, buf):
        if self.nack:
            raise OSError(19)
        buf[:] = self.reply


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin):
        self.pin = pin.n

    def atten(self, a):
        self.att = a

    def read_uv(self):
        return 1127000  # 1.127 V at the pin


class WDT:
    def __init__(self, timeout):
        self.timeout = timeout


def _crc8_maxim(data):
    crc = 0
    for b in data:
        for _ in range(8):
            mix = (crc ^ b) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            b >>= 1
    return crc


class OneWire:
    def __init__(self, pin):
        self.pin = pin.n
        self.present = True
        self.scratch = {}  # rom bytes -> 9 bytes
        self.selected = None

    def reset(self, required=False):
        if not self.present and required:
            raise OSError(5)
        return self.present

    def writebyte(self, b):
        pass

    def select_rom(self, rom):
        self.selected = bytes(rom)

    def readinto(self, buf):
        buf[:] = self.scratch.get(self.selected, b"\xff" * 9)

    def crc8(self, data):
        return _crc8_maxim(data)


class _Module:
    pass


machine = _Module()
machine.Pin, machine.I2C, machine.ADC, machine.WDT = Pin, I2C, ADC, WDT
onewire = _Module()
onewire.OneWire = OneWire
sys.modules["machine"] = machine
sys.modules["onewire"] = onewire

import board_esp32  # noqa: E402

AIR = "28ff641e8316035a"
PRODUCT = "28ff9a2c7116048e"


def scratch(raw):
    b = bytearray(9)
    b[0], b[1] = raw & 0xFF, (raw >> 8) & 0xFF
    b[8] = _crc8_maxim(b[:8])
    return bytes(b)


async def main():
    cfg = {"sensors": {"ds18b20": {AIR: "air", PRODUCT: "product"}, "sht": {"family": "sht4x"}}}
    board = board_esp32.Board(cfg)
    out = {"pins": {}, "reads": []}
    for n in sorted(Pin.made):
        p = Pin.made[n]
        out["pins"][str(n)] = [p.mode, p.pull]
    out["i2c"] = list(board.i2c.args)
    out["adc"] = board.adc.pin
    ow = board.ds.ow
    air, product = bytes.fromhex(AIR), bytes.fromhex(PRODUCT)
    cases = [
        ("ok", {air: scratch(0x0038), product: scratch(0xFEB4)}),  # +3.5 and -20.75
        ("power-on", {air: scratch(0x0550), product: scratch(0x0038)}),  # 85.0
        ("gone", {product: scratch(0x0038)}),  # air ROM no longer answers
        ("crc", {air: scratch(0x0038)[:8] + b"\x00", product: scratch(0x0038)}),
    ]
    i2c = board.i2c
    good = bytes([0x66, 0x66, 0x93, 0x80, 0x00, 0xA2])
    i2c.reply = good
    for name, pads in cases:
        ow.scratch = pads
        out["reads"].append([name, await board.read_sensors()])
    ow.present = False
    out["reads"].append(["no-bus", await board.read_sensors()])
    ow.present = True
    i2c.reply = good[:5] + b"\x00"
    out["reads"].append(["sht-crc", (await board.read_sensors())[2]])
    i2c.nack = True
    out["reads"].append(["sht-nack", (await board.read_sensors())[2]])
    board._door.v = 1
    out["door_open"] = board.door()
    board._button.v = 0
    out["button"] = [board.button(), board.button()]
    board.wdt_start(30000)
    out["wdt"] = board.wdt.timeout
    print(json.dumps(out))


asyncio.run(main())
