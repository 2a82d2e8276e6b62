"""The one validator: every probe message checked, a payload type or a `Rejection`.

Validation never raises on input. A message is refused with a `Reason` code, each of which
has a vector in tests/vectors/ that the firmware runs too. The JSON is decoded hardened
(size, encoding, nesting and number checks before and during parsing), then every field is
checked in contract order. `parse_readings` first tries the fast path (fast_path.py), which
can only accept; everything else takes the full validator here.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate, repeat
from typing import Any, Final, TypeVar

from coldchain.protocol.fast_path import _fast_readings, _fast_rows
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
    TOPIC_ROOT,
    AlarmCommand,
    ChannelAlarm,
    Kind,
    ProbeConfig,
    ProbeStatus,
    Reading,
    ReadingRow,
    ReadingsBatch,
)

__all__ = [
    "Reason",
    "Rejection",
    "decode_json",
    "parse_alarm",
    "parse_config",
    "parse_reading_rows",
    "parse_readings",
    "parse_status",
    "parse_topic",
]

_T = TypeVar("_T")


class Reason(StrEnum):
    """Why a message was rejected. Every code has a vector in tests/vectors/."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    DUPLICATE_KEY = "duplicate_key"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    UNSUPPORTED_VERSION = "unsupported_version"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"
    INVALID_TOPIC = "invalid_topic"
    INVALID_PROBE_ID = "invalid_probe_id"
    PROBE_ID_MISMATCH = "probe_id_mismatch"
    INVALID_FIRMWARE_VERSION = "invalid_firmware_version"
    EMPTY_BATCH = "empty_batch"
    TOO_MANY_READINGS = "too_many_readings"
    INVALID_SEQUENCE = "invalid_sequence"
    DUPLICATE_SEQUENCE = "duplicate_sequence"
    UNKNOWN_CHANNEL = "unknown_channel"
    NON_FINITE_NUMBER = "non_finite_number"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    VALUE_OR_FAULT_REQUIRED = "value_or_fault_required"
    UNKNOWN_FAULT_CODE = "unknown_fault_code"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    INVALID_SETTING = "invalid_setting"
    TEXT_TOO_LONG = "text_too_long"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: Reason
    detail: str


# --- Topics -----------------------------------------------------------------------------


# Cached: a probe's topics come again with every message (the gateway parses each one twice,
# to route it and in the validator), and both results are immutable. A flood of new topics
# only cycles the cache.
@functools.lru_cache(maxsize=4096)
def parse_topic(topic_name: str) -> tuple[str, Kind] | Rejection:
    prefix = TOPIC_ROOT + "/"
    if not topic_name.startswith(prefix):
        return Rejection(Reason.INVALID_TOPIC, "topic outside cc/v1/dev/")
    probe_id, _, suffix = topic_name[len(prefix) :].partition("/")
    if not PROBE_ID_RE.fullmatch(probe_id):
        return Rejection(Reason.INVALID_PROBE_ID, "probe id in topic is not valid")
    try:
        return probe_id, Kind(suffix)
    except ValueError:
        return Rejection(Reason.INVALID_TOPIC, "unknown topic suffix")


def _topic_probe_id(topic_name: str | None, expected: Kind) -> str | Rejection | None:
    """The probe id a message's topic names (None when it came without a topic, on serial)."""
    if topic_name is None:
        return None
    parsed = parse_topic(topic_name)
    if isinstance(parsed, Rejection):
        return parsed
    probe_id, kind = parsed
    if kind is not expected:
        return Rejection(Reason.INVALID_TOPIC, f"expected {expected.value}, got {kind.value}")
    return probe_id


# --- JSON decoding, hardened --------------------------------------------------------------


class _Reject(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _no_constants(name: str) -> Any:
    raise _Reject(Reason.NON_FINITE_NUMBER, f"{name} is not a number")


def _bounded_int(text: str) -> int:
    # Python refuses ints over 4,300 digits only after the work; cap early.
    if len(text.lstrip("-")) > 20:
        raise _Reject(Reason.VALUE_OUT_OF_RANGE, "integer too large")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(Reason.NON_FINITE_NUMBER, "number overflows to infinity")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Reject(Reason.DUPLICATE_KEY, "an object repeats a key")
    return obj


# Outside strings only brackets matter for nesting. Strings are cut out at C speed (by the
# quotes alone when the text has no backslash, else by a regex that follows escapes), then
# every other ASCII character is deleted and the depth is a running sum over what is left.
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # unterminated: to the end
_ONLY_BRACKETS: Final = {i: None for i in range(128) if chr(i) not in "[]{}"}
_DEPTH_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}


def _depth_exceeds(text: str, limit: int) -> bool:
    """True when brackets nest deeper than `limit`, ignoring brackets inside strings.

    The same answer as a character-by-character scan (a quote outside a string opens one,
    a backslash in a string escapes the next character, a quote closes it; an unbalanced
    closing bracket lowers the depth), without a Python-level loop over the text: that scan
    cost ~2 us per reading, a quarter of the validator (docs/gateway.md, "Performance").
    """
    if "\\" in text:
        outside = _STRING.sub("", text)
    else:
        outside = "".join(text.split('"')[::2])  # odd pieces are inside strings
    brackets = outside.translate(_ONLY_BRACKETS)  # non-ASCII stays; it steps by 0 below
    if len(brackets) <= limit:
        return False
    depths = accumulate(map(_DEPTH_STEP.get, brackets, repeat(0)))
    return next(filter(limit.__lt__, depths), None) is not None  # stops at the first too deep


def decode_json(payload: bytes | str) -> dict[str, Any] | Rejection:
    """Decode one message: size, encoding, nesting and number checks before and during parsing."""
    size = len(payload.encode("utf-8")) if isinstance(payload, str) else len(payload)
    if size > MAX_PAYLOAD_BYTES:
        return Rejection(Reason.PAYLOAD_TOO_LARGE, f"{size} bytes > {MAX_PAYLOAD_BYTES}")
    if isinstance(payload, bytes | bytearray):
        try:
            text = bytes(payload).decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            return Rejection(Reason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}")
    else:
        text = payload
    if text.startswith("\ufeff"):
        return Rejection(Reason.INVALID_JSON, "byte-order mark before JSON")
    if _depth_exceeds(text, MAX_JSON_DEPTH):
        return Rejection(Reason.TOO_DEEP, f"nesting deeper than {MAX_JSON_DEPTH}")
    try:
        obj = json.loads(
            text,
            parse_constant=_no_constants,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            object_pairs_hook=_no_duplicates,
        )
    except _Reject as exc:
        return Rejection(exc.reason, exc.detail)
    except (ValueError, RecursionError) as exc:
        return Rejection(Reason.INVALID_JSON, str(exc)[:120])
    if not isinstance(obj, dict):
        return Rejection(Reason.NOT_AN_OBJECT, "payload is not a JSON object")
    return obj


def _validated(payload: bytes | str, build: Callable[[dict[str, Any]], _T]) -> _T | Rejection:
    """Decode `payload`, then `build` its message from the object (raising `_Reject` at the
    first check it fails): the message, or the reason it is refused."""
    obj = decode_json(payload)
    if isinstance(obj, Rejection):
        return obj
    try:
        return build(obj)
    except _Reject as exc:
        return Rejection(exc.reason, exc.detail)


# --- Field helpers --------------------------------------------------------------------------


def _check_keys(obj: dict[str, Any], required: set[str], optional: set[str], where: str) -> None:
    missing = required - obj.keys()
    if missing:
        raise _Reject(Reason.MISSING_FIELD, f"{where}: missing {sorted(missing)[0]!r}")
    unknown = obj.keys() - required - optional
    if unknown:
        raise _Reject(Reason.UNKNOWN_FIELD, f"{where}: unknown {sorted(unknown)[0]!r}")


def _int(obj: dict[str, Any], key: str, where: str, low: int, high: int, reason: Reason) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Reject(Reason.WRONG_TYPE, f"{where}.{key} must be an integer")
    if not low <= value <= high:
        raise _Reject(reason, f"{where}.{key}={value} outside [{low}, {high}]")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Reject(Reason.WRONG_TYPE, f"{where} must be a number")
    return float(value)


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise _Reject(Reason.WRONG_TYPE, f"{where}.{key} must be a string")
    return value


def _bool(obj: dict[str, Any], key: str, where: str) -> bool:
    value = obj[key]
    if not isinstance(value, bool):
        raise _Reject(Reason.WRONG_TYPE, f"{where}.{key} must be true or false")
    return value


def _version(obj: dict[str, Any]) -> None:
    if "v" not in obj:
        raise _Reject(Reason.MISSING_FIELD, "missing 'v'")
    if obj["v"] != PROTOCOL_VERSION or isinstance(obj["v"], bool):
        raise _Reject(Reason.UNSUPPORTED_VERSION, f"protocol version {obj['v']!r}")


def _probe_id(obj: dict[str, Any], topic_probe_id: str | None) -> str:
    probe_id = _str(obj, "id", "message")
    if not PROBE_ID_RE.fullmatch(probe_id):
        raise _Reject(Reason.INVALID_PROBE_ID, "probe id must match [a-z0-9][a-z0-9-]{0,31}")
    if topic_probe_id is not None and probe_id != topic_probe_id:
        raise _Reject(Reason.PROBE_ID_MISMATCH, "probe id in payload differs from topic")
    return probe_id


def _time_ms(obj: dict[str, Any], key: str, where: str, now_ms: int) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Reject(Reason.WRONG_TYPE, f"{where}.{key} must be integer milliseconds")
    if value < EARLIEST_TIME_MS:
        raise _Reject(Reason.TIMESTAMP_TOO_OLD, f"{where}.{key} before 2020-01-01")
    if value > now_ms + MAX_FUTURE_MS:
        raise _Reject(Reason.TIMESTAMP_IN_FUTURE, f"{where}.{key} more than 10 min ahead")
    return value


# --- Readings ---------------------------------------------------------------------------


def _reading(raw: Any, index: int, probe_id: str, now_ms: int) -> Reading:
    where = f"r[{index}]"
    if not isinstance(raw, dict):
        raise _Reject(Reason.WRONG_TYPE, f"{where} must be an object")
    _check_keys(raw, {"s", "c", "t"}, {"v", "f", "u"}, where)
    seq = _int(raw, "s", where, 0, MAX_SEQUENCE, Reason.INVALID_SEQUENCE)
    channel = _str(raw, "c", where)
    spec = CHANNELS.get(channel)
    if spec is None:
        raise _Reject(Reason.UNKNOWN_CHANNEL, f"{where}: channel {channel[:32]!r}")
    time_ms = _time_ms(raw, "t", where, now_ms)
    fault = None
    if "f" in raw:
        fault = _str(raw, "f", where)
        if fault not in FAULT_CODES:
            raise _Reject(Reason.UNKNOWN_FAULT_CODE, f"{where}: fault {fault[:32]!r}")
    value = None
    if "v" in raw:
        value = _number(raw["v"], f"{where}.v")
        # A fault may carry the raw value it is about; only a clean value must be physical.
        if fault is None and not spec.low <= value <= spec.high:
            raise _Reject(Reason.VALUE_OUT_OF_RANGE, f"{where}: {channel}={value}")
    elif fault is None:
        raise _Reject(Reason.VALUE_OR_FAULT_REQUIRED, f"{where} has neither 'v' nor 'f'")
    synced = True
    if "u" in raw:
        if raw["u"] != 1 or isinstance(raw["u"], bool):
            raise _Reject(Reason.WRONG_TYPE, f"{where}.u must be 1 when present")
        synced = False
    return Reading(probe_id, channel, time_ms, seq, value, fault, synced)


def _readings_batch(obj: dict[str, Any], topic_probe_id: str | None, now_ms: int) -> ReadingsBatch:
    _version(obj)
    _check_keys(obj, {"v", "id", "fw", "r"}, {"boot"}, "message")
    probe_id = _probe_id(obj, topic_probe_id)
    firmware = _str(obj, "fw", "message")
    if not FIRMWARE_VERSION_RE.fullmatch(firmware):
        raise _Reject(Reason.INVALID_FIRMWARE_VERSION, "firmware version is not valid")
    boot = None
    if "boot" in obj:
        boot = _int(obj, "boot", "message", 0, MAX_SEQUENCE, Reason.WRONG_TYPE)
    raw_readings = obj["r"]
    if not isinstance(raw_readings, list):
        raise _Reject(Reason.WRONG_TYPE, "'r' must be a list")
    if not raw_readings:
        raise _Reject(Reason.EMPTY_BATCH, "'r' is empty")
    if len(raw_readings) > MAX_READINGS_PER_MESSAGE:
        raise _Reject(Reason.TOO_MANY_READINGS, f"{len(raw_readings)} > {MAX_READINGS_PER_MESSAGE}")
    readings = tuple(_reading(raw, i, probe_id, now_ms) for i, raw in enumerate(raw_readings))
    if len({r.seq for r in readings}) != len(readings):
        raise _Reject(Reason.DUPLICATE_SEQUENCE, "a sequence number repeats in the batch")
    return ReadingsBatch(probe_id, firmware, readings, boot)


def parse_readings(
    payload: bytes | str, now_ms: int, topic_name: str | None = None
) -> ReadingsBatch | Rejection:
    """Validate one `up/readings` message. `now_ms` is the receiver's UTC clock."""
    topic_probe_id = _topic_probe_id(topic_name, Kind.READINGS)
    if isinstance(topic_probe_id, Rejection):
        return topic_probe_id
    fast = _fast_readings(payload, topic_probe_id, now_ms)
    return fast if fast is not None else _full_readings(payload, topic_probe_id, now_ms)


def parse_reading_rows(
    payload: bytes | str, now_ms: int, topic_name: str | None = None
) -> tuple[str, list[ReadingRow]] | Rejection:
    """`parse_readings` for storage: the same verdict, a valid message as its probe id and its
    readings as rows, without the Reading objects (the gateway's intake, which stores rows)."""
    topic_probe_id = _topic_probe_id(topic_name, Kind.READINGS)
    if isinstance(topic_probe_id, Rejection):
        return topic_probe_id
    fast = _fast_rows(payload, topic_probe_id, now_ms)
    if fast is not None:
        return fast[0], fast[3]
    full = _full_readings(payload, topic_probe_id, now_ms)
    if isinstance(full, Rejection):
        return full
    rows = [(r.channel, r.time_ms, r.seq, r.value, r.fault, r.clock_synced) for r in full.readings]
    return full.probe_id, rows


def _full_readings(
    payload: bytes | str, topic_probe_id: str | None, now_ms: int
) -> ReadingsBatch | Rejection:
    """Every check in contract order, hooks in the decoder: the result or the reason code."""
    return _validated(payload, lambda obj: _readings_batch(obj, topic_probe_id, now_ms))


# --- Status -----------------------------------------------------------------------------

_STATUS_OPTIONAL = {
    "fw", "boot", "t", "queue", "oldest", "sync", "heap", "rssi", "supply", "lost", "mode",
    "silenced",
}  # fmt: skip


def parse_status(
    payload: bytes | str, now_ms: int, topic_name: str | None = None
) -> ProbeStatus | Rejection:
    """Validate one retained `up/status` message (also the last will, `online: false`)."""
    topic_probe_id = _topic_probe_id(topic_name, Kind.STATUS)
    if isinstance(topic_probe_id, Rejection):
        return topic_probe_id
    return _validated(payload, lambda obj: _status(obj, topic_probe_id, now_ms))


def _status(obj: dict[str, Any], topic_probe_id: str | None, now_ms: int) -> ProbeStatus:
    _version(obj)
    _check_keys(obj, {"v", "id", "online"}, _STATUS_OPTIONAL, "status")
    probe_id = _probe_id(obj, topic_probe_id)
    online = _bool(obj, "online", "status")

    def opt_int(key: str, low: int, high: int) -> int | None:
        if obj.get(key) is None:
            return None
        return _int(obj, key, "status", low, high, Reason.VALUE_OUT_OF_RANGE)

    firmware = None
    if "fw" in obj:
        firmware = _str(obj, "fw", "status")
        if not FIRMWARE_VERSION_RE.fullmatch(firmware):
            raise _Reject(Reason.INVALID_FIRMWARE_VERSION, "firmware version is not valid")
    mode = _str(obj, "mode", "status") if "mode" in obj else None
    if mode not in (None, "normal", "safe"):
        raise _Reject(Reason.INVALID_SETTING, "status.mode must be 'normal' or 'safe'")
    supply = None
    if obj.get("supply") is not None:
        supply = _number(obj["supply"], "status.supply")
        if not 0.0 <= supply <= 36.0:
            raise _Reject(Reason.VALUE_OUT_OF_RANGE, "status.supply outside [0, 36] V")
    return ProbeStatus(
        probe_id=probe_id,
        online=online,
        firmware=firmware,
        boot=opt_int("boot", 0, MAX_SEQUENCE),
        time_ms=_time_ms(obj, "t", "status", now_ms) if "t" in obj else None,
        queue_depth=opt_int("queue", 0, MAX_SEQUENCE),
        oldest_unsent_ms=opt_int("oldest", 0, MAX_SEQUENCE),
        clock_synced=_bool(obj, "sync", "status") if "sync" in obj else None,
        free_heap=opt_int("heap", 0, 2**31),
        rssi_dbm=opt_int("rssi", -127, 0),
        supply_v=supply,
        lost=opt_int("lost", 0, MAX_SEQUENCE),
        mode=mode,
        silenced=_bool(obj, "silenced", "status") if "silenced" in obj else None,
    )


# --- Config (server -> probe, retained) -------------------------------------------------


def _optional_number(obj: dict[str, Any], key: str, where: str) -> float | None:
    if obj.get(key) is None:
        return None
    return _number(obj[key], f"{where}.{key}")


def parse_config(payload: bytes | str) -> ProbeConfig | Rejection:
    """Validate a `down/config` message; the firmware applies the same rules (vectors)."""
    return _validated(payload, _config)


def _config(obj: dict[str, Any]) -> ProbeConfig:
    _version(obj)
    _check_keys(obj, {"v", "interval"}, {"alarm", "offsets", "door_max"}, "config")
    interval = _int(obj, "interval", "config", MIN_INTERVAL_S, MAX_INTERVAL_S,
                    Reason.INVALID_SETTING)  # fmt: skip
    alarms: dict[str, ChannelAlarm] = {}
    raw_alarms = obj.get("alarm", {})
    if not isinstance(raw_alarms, dict):
        raise _Reject(Reason.WRONG_TYPE, "config.alarm must be an object")
    for channel, raw in raw_alarms.items():
        where = f"config.alarm.{channel[:32]}"
        if channel not in CHANNELS:
            raise _Reject(Reason.UNKNOWN_CHANNEL, f"{where}: unknown channel")
        if not isinstance(raw, dict):
            raise _Reject(Reason.WRONG_TYPE, f"{where} must be an object")
        _check_keys(raw, {"delay"}, {"high", "low"}, where)
        high = _optional_number(raw, "high", where)
        low = _optional_number(raw, "low", where)
        if high is None and low is None:
            raise _Reject(Reason.INVALID_SETTING, f"{where} needs 'high' or 'low'")
        if high is not None and low is not None and low >= high:
            raise _Reject(Reason.INVALID_SETTING, f"{where}: low must be below high")
        delay = _int(raw, "delay", where, 0, MAX_ALARM_DELAY_S, Reason.INVALID_SETTING)
        alarms[channel] = ChannelAlarm(high=high, low=low, delay_s=delay)
    offsets: dict[str, float] = {}
    raw_offsets = obj.get("offsets", {})
    if not isinstance(raw_offsets, dict):
        raise _Reject(Reason.WRONG_TYPE, "config.offsets must be an object")
    for channel, raw in raw_offsets.items():
        if channel not in CALIBRATED_CHANNELS:
            raise _Reject(Reason.UNKNOWN_CHANNEL, f"config.offsets.{channel[:32]}")
        offset = _number(raw, f"config.offsets.{channel}")
        if abs(offset) > MAX_CALIBRATION_OFFSET:
            raise _Reject(Reason.INVALID_SETTING, f"config.offsets.{channel} beyond ±5")
        offsets[channel] = offset
    door_max = None
    if obj.get("door_max") is not None:
        door_max = _int(obj, "door_max", "config", 10, MAX_ALARM_DELAY_S,
                        Reason.INVALID_SETTING)  # fmt: skip
    return ProbeConfig(interval, alarms, offsets, door_max)


# --- Alarm (server -> probe) -------------------------------------------------------------


def parse_alarm(payload: bytes | str) -> AlarmCommand | Rejection:
    return _validated(payload, _alarm)


def _alarm(obj: dict[str, Any]) -> AlarmCommand:
    _version(obj)
    _check_keys(obj, {"v", "on"}, {"text", "alert", "ring"}, "alarm")
    on = _bool(obj, "on", "alarm")
    ring = _bool(obj, "ring", "alarm") if "ring" in obj else True
    text = _str(obj, "text", "alarm") if "text" in obj else ""
    if len(text) > MAX_ALARM_TEXT_CHARS:
        raise _Reject(Reason.TEXT_TOO_LONG, f"alarm.text over {MAX_ALARM_TEXT_CHARS} chars")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise _Reject(Reason.INVALID_SETTING, "alarm.text has control characters")
    alert_id = _str(obj, "alert", "alarm")[:64] if "alert" in obj else None
    return AlarmCommand(on, text, alert_id, ring)
