# Sensor drivers and fault rules shared by the real board (board_esp32.py) and the simulator
# (board_sim.py), so the simulator exercises the same fault classification as the probe.
# A fault is a reading with a code (contract.FAULTS), never silence.
from micropython import const

DS18B20_POWER_ON = 85.0  # scratchpad reset value: conversion never ran (brown-out, bad wiring)
DS18B20_NO_DEVICE = -127.0  # what many drivers return for "no device"; our own reads raise instead


def classify_ds18b20(raw):
    """raw: float degrees, or None when the device did not answer. -> (value, fault)."""
    if raw is None:
        return None, "disconnected"
    if raw == DS18B20_POWER_ON:
        return raw, "power_on_value"
    if raw == DS18B20_NO_DEVICE:
        return raw, "disconnected"
    return raw, None


def crc8_sensirion(data):
    # Sensirion CRC-8: poly 0x31, init 0xFF (SHT3x / SHT4x datasheets, "Checksum Calculation").
    crc = 0xFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


SHT4X_MEASURE_HIGH = const(0xFD)  # high repeatability, 8.2 ms max
SHT3X_MEASURE_HIGH = b"\x24\x00"  # single shot, high repeatability, no clock stretching


class SHT:
    """SHT4x (default) or SHT3x on any object with writeto/readfrom_into (machine.I2C).

    read() -> ((temp, fault), (rh, fault)). An OSError from the bus is a NACK (ENODEV on
    ESP32 when no device acknowledges the address)."""

    def __init__(self, i2c, addr=0x44, family="sht4x", sleep_ms=None):
        self.i2c = i2c
        self.addr = addr
        self.family = family
        self.buf = bytearray(6)
        self._sleep_ms = sleep_ms

    async def read(self):
        import asyncio

        try:
            if self.family == "sht3x":
                self.i2c.writeto(self.addr, SHT3X_MEASURE_HIGH)
                await asyncio.sleep_ms(16)  # 15.5 ms max, SHT3x-DIS table 4
            else:
                self.i2c.writeto(self.addr, bytes((SHT4X_MEASURE_HIGH,)))
                await asyncio.sleep_ms(10)  # 8.3 ms max, SHT4x datasheet table 5
            self.i2c.readfrom_into(self.addr, self.buf)
        except OSError:
            return (None, "i2c_nack"), (None, "i2c_nack")
        return self.convert(self.buf)

    def convert(self, buf):
        mv = memoryview(buf)
        t_ok = crc8_sensirion(mv[0:2]) == buf[2]
        h_ok = crc8_sensirion(mv[3:5]) == buf[5]
        raw_t = (buf[0] << 8) | buf[1]
        raw_h = (buf[3] << 8) | buf[4]
        if self.family == "sht3x":
            t = -45 + 175 * raw_t / 65535
            rh = 100 * raw_h / 65535
        else:
            t = -45 + 175 * raw_t / 65535
            rh = -6 + 125 * raw_h / 65535
        # SHT4x rh formula can leave [0, 100] slightly: the datasheet says crop it.
        rh = min(100.0, max(0.0, rh))
        temp = (None, "crc_error") if not t_ok else (t, None)
        hum = (None, "crc_error") if not h_ok else (rh, None)
        return temp, hum
