"""The probe-to-server contract: topics, payloads, limits, and the one validator.

This package owns the contract described in docs/protocol.md. The gateway, the alert
worker and the server validate every probe message here; the MicroPython firmware
encodes the same payloads (firmware/esp32/contract.py) and both sides run the shared
vectors in tests/vectors/ so the two never drift.

Validation never raises on input: it returns either a `ReadingsBatch` / `ProbeStatus`
/ `ProbeConfig` / `AlarmCommand`, or a `Rejection` carrying a `Reason` code.

One module per concern, all re-exported here (import from `coldchain.protocol`):

- `messages`: topics, message kinds, limits, channels, fault codes, the payload types;
- `encoding`: payload types to compact JSON, the shape the firmware sends;
- `validation`: the validator, `Rejection` and its `Reason` codes;
- `fast_path`: the shortcut `parse_readings` takes for plainly valid readings.
"""

from coldchain.protocol.encoding import encode_alarm, encode_config, encode_readings
from coldchain.protocol.messages import (
    CALIBRATED_CHANNELS,
    CHANNELS,
    EARLIEST_TIME_MS,
    FAULT_CODES,
    FIRMWARE_VERSION_RE,
    MAX_ALARM_DELAY_S,
    MAX_ALARM_TEXT_CHARS,
    MAX_CALIBRATION_OFFSET,
    MAX_FUTURE_MS,
    MAX_INTERVAL_S,
    MAX_JSON_DEPTH,
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    MAX_SEQUENCE,
    MIN_INTERVAL_S,
    PROBE_ID_RE,
    PROTOCOL_VERSION,
    QOS,
    RETAIN,
    TEMPERATURE_CHANNELS,
    TOPIC_ROOT,
    AlarmCommand,
    ChannelAlarm,
    ChannelSpec,
    Kind,
    ProbeConfig,
    ProbeStatus,
    Reading,
    ReadingsBatch,
    share_filter,
    topic,
)
from coldchain.protocol.validation import (
    Reason,
    Rejection,
    decode_json,
    parse_alarm,
    parse_config,
    parse_readings,
    parse_status,
    parse_topic,
)

__all__ = [
    "CALIBRATED_CHANNELS",
    "CHANNELS",
    "EARLIEST_TIME_MS",
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
    "ReadingsBatch",
    "Reason",
    "Rejection",
    "decode_json",
    "encode_alarm",
    "encode_config",
    "encode_readings",
    "parse_alarm",
    "parse_config",
    "parse_readings",
    "parse_status",
    "parse_topic",
    "share_filter",
    "topic",
]
