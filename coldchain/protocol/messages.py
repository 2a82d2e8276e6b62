"""The contract's messages: topics, kinds, limits, channels and the payload types.

What a probe and a server say to each other, as data: the topic of each message kind with
its QoS and retain flag, the limits and codes the validator enforces, and the dataclasses a
valid message becomes. No checking here (validation.py) and no bytes (encoding.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = [
    "CALIBRATED_CHANNELS",
    "CHANNELS",
    "EARLIEST_TIME_MS",
    "EVENT_CHANNELS",
    "FAULT_CODES",
    "FIRMWARE_VERSION_RE",
    "MAX_ALARM_DELAY_S",
    "MAX_ALARM_TEXT_CHARS",
    "MAX_CALIBRATION_OFFSET",
    "MAX_FUTURE_MS",
    "MAX_INTERVAL_S",
    "MAX_JSON_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MAX_READINGS_PER_MESSAGE",
    "MAX_SEQUENCE",
    "MIN_INTERVAL_S",
    "PROBE_ID_RE",
    "PROTOCOL_VERSION",
    "QOS",
    "RETAIN",
    "TEMPERATURE_CHANNELS",
    "TOPIC_ROOT",
    "AlarmCommand",
    "ChannelAlarm",
    "ChannelSpec",
    "Kind",
    "ProbeConfig",
    "ProbeStatus",
    "Reading",
    "ReadingRow",
    "ReadingsBatch",
    "share_filter",
    "topic",
]

PROTOCOL_VERSION: Final = 1
TOPIC_ROOT: Final = "cc/v1/dev"

# --- Limits (part of the contract; the firmware's contract.py mirrors them) ---------------
MAX_PAYLOAD_BYTES: Final = 16_384
MAX_READINGS_PER_MESSAGE: Final = 200
MAX_ALARM_TEXT_CHARS: Final = 64  # 4 lines of 16 characters on a 128x64 SSD1306
# Device time must fall inside this window: not before 2020, not more than 10 min ahead.
EARLIEST_TIME_MS: Final = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_FUTURE_MS: Final = 10 * 60 * 1000
MAX_SEQUENCE: Final = 2**53 - 1  # exact in JSON doubles and in MicroPython
MIN_INTERVAL_S: Final = 10
MAX_INTERVAL_S: Final = 300  # EN 12830: at most 5 min between records in transport
MAX_ALARM_DELAY_S: Final = 24 * 3600
MAX_CALIBRATION_OFFSET: Final = 5.0
# Deepest JSON structure a valid message has (config: object > alarm > channel > key).
MAX_JSON_DEPTH: Final = 4

PROBE_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
FIRMWARE_VERSION_RE: Final = re.compile(r"[0-9A-Za-z.+_-]{1,32}")


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    unit: str
    low: float  # physical range the sensor can report; outside it is a fault
    high: float


CHANNELS: Final[dict[str, ChannelSpec]] = {
    "air": ChannelSpec("°C", -55.0, 85.0),
    "product": ChannelSpec("°C", -55.0, 85.0),
    "humidity": ChannelSpec("%RH", 0.0, 100.0),
    "door": ChannelSpec("", 0.0, 1.0),  # 1 = open, 0 = closed
    "battery": ChannelSpec("V", 0.0, 36.0),  # supply voltage (12 V van supply or cell)
}
TEMPERATURE_CHANNELS: Final = frozenset({"air", "product"})
# Channels a calibration offset may correct (a door or a supply voltage has none).
CALIBRATED_CHANNELS: Final = TEMPERATURE_CHANNELS | {"humidity"}
# Channels the probe records as an event when they change (a door: 1 = open), not sampled
# every interval: their silence is no gap in the data.
EVENT_CHANNELS: Final = frozenset({"door"})

# Sensor faults are readings, not silence (firmware issue): the code says what happened.
FAULT_CODES: Final = frozenset(
    {
        "power_on_value",  # DS18B20 returned its 85.0 power-on reset value
        "disconnected",  # DS18B20 -127 / no device answering on the bus
        "crc_error",  # 1-Wire scratchpad or SHT CRC mismatch
        "i2c_nack",  # the I2C sensor did not acknowledge
        "out_of_range",  # value outside the channel's physical range
        "not_ready",  # conversion not finished in time
    }
)


class Kind(StrEnum):
    """The four message kinds, one per topic suffix."""

    READINGS = "up/readings"
    STATUS = "up/status"
    CONFIG = "down/config"
    ALARM = "down/alarm"


# QoS and retain per kind (docs/protocol.md, "Topics").
QOS: Final = {Kind.READINGS: 1, Kind.STATUS: 1, Kind.CONFIG: 1, Kind.ALARM: 1}
RETAIN: Final = {Kind.READINGS: False, Kind.STATUS: True, Kind.CONFIG: True, Kind.ALARM: False}


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement. `(probe_id, channel, time_ms)` identifies it (idempotent storage)."""

    probe_id: str
    channel: str
    time_ms: int  # UTC, device time, milliseconds since the Unix epoch
    seq: int  # per-probe sequence number, survives reboots
    value: float | None  # None when the sensor reported a fault and no raw value
    fault: str | None = None
    clock_synced: bool = True

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.probe_id, self.channel, self.time_ms)


# A valid reading as a storage row, without its probe id: (channel, time_ms, seq, value, fault,
# clock_synced), Reading's other fields in order (`parse_reading_rows`, the gateway's spool).
ReadingRow = tuple[str, int, int, float | None, str | None, bool]


@dataclass(frozen=True, slots=True)
class ReadingsBatch:
    probe_id: str
    firmware: str
    readings: tuple[Reading, ...]
    boot: int | None = None


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    probe_id: str
    online: bool
    firmware: str | None = None
    boot: int | None = None
    time_ms: int | None = None
    queue_depth: int | None = None
    oldest_unsent_ms: int | None = None
    clock_synced: bool | None = None
    free_heap: int | None = None
    rssi_dbm: int | None = None
    supply_v: float | None = None
    lost: int | None = None  # readings dropped because the flash queue was full
    mode: str | None = None  # "normal" or "safe" (boot-loop guard)
    silenced: bool | None = None


@dataclass(frozen=True, slots=True)
class ChannelAlarm:
    """Local-alarm threshold for one channel: beyond [low, high] for `delay_s` seconds."""

    high: float | None = None
    low: float | None = None
    delay_s: int = 0


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    interval_s: int = 60
    alarms: dict[str, ChannelAlarm] = field(default_factory=dict)
    offsets: dict[str, float] = field(default_factory=dict)  # calibration, local alarm only
    door_open_max_s: int | None = None


@dataclass(frozen=True, slots=True)
class AlarmCommand:
    on: bool
    text: str = ""
    alert_id: str | None = None
    ring: bool = True  # False: the text on the display only, no buzzer (a warning)


# --- Topics -----------------------------------------------------------------------------


def topic(probe_id: str, kind: Kind) -> str:
    return f"{TOPIC_ROOT}/{probe_id}/{kind.value}"


def share_filter(group: str, kind: Kind | None = None) -> str:
    """MQTT 5 shared-subscription filter for servers (`$share/<group>/cc/v1/dev/+/up/...`)."""
    suffix = kind.value if kind else "up/#"
    return f"$share/{group}/{TOPIC_ROOT}/+/{suffix}"
