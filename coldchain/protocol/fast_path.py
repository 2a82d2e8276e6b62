"""The fast path of `parse_readings` (and `parse_reading_rows`): the common, valid message
checked in one pass.

The hooks are left out of json decoding (each hook is a Python call per number or object,
~40 per 10-reading message). It can only say yes: anything it does not accept outright (any
rejection, and anything unusual: a str payload, a backslash, bracket or colon inside a
string, a float `v` of 1.0) goes through the full validator (validation.py), which then
gives the result and the reason code. Every value it accepts is one the hooks would have let
through unchanged, and the result equals the full validator's
(tests/coldchain/test_protocol_fast_path.py checks both claims).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from coldchain.protocol.messages import (
    CHANNELS,
    EARLIEST_TIME_MS,
    FAULT_CODES,
    FIRMWARE_VERSION_RE,
    MAX_FUTURE_MS,
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    MAX_SEQUENCE,
    PROBE_ID_RE,
    PROTOCOL_VERSION,
    Reading,
    ReadingRow,
    ReadingsBatch,
)


def _refuse_constant(name: str) -> Any:
    # NaN, Infinity, -Infinity are never plain. Any exception sends the message to the full
    # validator, whose own hook gives the reason code; a plain ValueError keeps this module
    # from importing validation.py, which imports it.
    raise ValueError(f"{name} is not a number")


_FAST_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)
_BATCH_REQUIRED: Final = frozenset({"v", "id", "fw", "r"})
_BATCH_ALLOWED: Final = _BATCH_REQUIRED | {"boot"}
_READING_REQUIRED: Final = frozenset({"s", "c", "t"})
_READING_ALLOWED: Final = _READING_REQUIRED | {"v", "f", "u"}
# The usual reading: a value, no fault, the clock synced. Checked with one comparison of its
# keys and fewer lookups (measured: 1.77 -> 1.57 us of CPU per reading, the whole fast path
# at 10 readings per message).
_USUAL_READING: Final = _READING_REQUIRED | {"v"}
_BOUNDS: Final = {name: (spec.low, spec.high) for name, spec in CHANNELS.items()}
_INT_DIGITS_LIMIT: Final = 10**20  # validation._bounded_int refuses more than 20 digits
_INF: Final = math.inf
_NOT_BRACKET_OR_QUOTE: Final = bytes(b for b in range(256) if b not in b'[]{}"')


def _plain_shape(payload: bytes) -> bool:
    """True when, outside strings, the brackets are exactly `{[{}...{}]}` (depth 3) and no
    string holds a bracket or a backslash: the fast path's nesting guard, a few C passes.

    Without backslashes quotes pair up in order; once everything but quotes and brackets is
    deleted, a string holding no bracket is an adjacent pair of quotes. Any quote left after
    deleting those pairs means a bracket inside a string: not plain (the full guard decides).
    UTF-8 multi-byte sequences hold no ASCII byte, so bytes are as good as characters here.
    """
    if b"\\" in payload:
        return False
    outside = payload.translate(None, _NOT_BRACKET_OR_QUOTE).replace(b'""', b"")
    return (
        outside[:2] == b"{["
        and outside[-2:] == b"]}"
        and len(outside) >= 4
        and not outside[2:-2].replace(b"{}", b"")
    )


def _fast_readings(
    payload: bytes | str, topic_probe_id: str | None, now_ms: int
) -> ReadingsBatch | None:
    """The batch when `payload` is plainly valid, else None (the full validator decides)."""
    fast = _fast_rows(payload, topic_probe_id, now_ms)
    if fast is None:
        return None
    probe_id, firmware, boot, rows = fast
    return ReadingsBatch(probe_id, firmware, tuple([Reading(probe_id, *row) for row in rows]), boot)


def _fast_rows(
    payload: bytes | str, topic_probe_id: str | None, now_ms: int
) -> tuple[str, str, int | None, list[ReadingRow]] | None:
    """(probe id, firmware, boot, the readings as rows) when `payload` is plainly valid, else
    None: `_fast_readings` without a Reading object per reading (the gateway stores rows)."""
    if type(payload) is not bytes or len(payload) > MAX_PAYLOAD_BYTES:
        return None
    if not _plain_shape(payload):  # before any decoding, as the full validator's depth guard
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("\ufeff"):
        return None
    try:
        obj = _FAST_DECODER.decode(text)
    except (ValueError, RecursionError):
        # ValueError: invalid JSON, NaN/Infinity (_refuse_constant), an integer over Python's
        # digit limit. RecursionError cannot pass _plain_shape's depth 3; listed as the full
        # validator lists it. Either way the full validator gives the reason code.
        return None
    if type(obj) is not dict or not _BATCH_REQUIRED <= obj.keys() <= _BATCH_ALLOWED:
        return None
    version, probe_id, firmware, raw_readings = obj["v"], obj["id"], obj["fw"], obj["r"]
    if type(version) is not int or version != PROTOCOL_VERSION:
        return None
    if type(probe_id) is not str or not PROBE_ID_RE.fullmatch(probe_id):
        return None
    if topic_probe_id is not None and probe_id != topic_probe_id:
        return None
    if type(firmware) is not str or not FIRMWARE_VERSION_RE.fullmatch(firmware):
        return None
    boot = obj.get("boot")
    if "boot" in obj and (type(boot) is not int or not 0 <= boot <= MAX_SEQUENCE):
        return None
    if type(raw_readings) is not list or not 0 < len(raw_readings) <= MAX_READINGS_PER_MESSAGE:
        return None
    earliest, latest = EARLIEST_TIME_MS, now_ms + MAX_FUTURE_MS
    pairs = len(obj)
    rows: list[ReadingRow] = []
    for raw in raw_readings:
        if type(raw) is not dict:
            return None
        keys = raw.keys()
        if keys == _USUAL_READING:
            # The checks below for this shape, in the same order (all must pass either way).
            seq, channel, time_ms, value = raw["s"], raw["c"], raw["t"], raw["v"]
            if type(seq) is not int or not 0 <= seq <= MAX_SEQUENCE:
                return None
            # Any scalar can be looked up (_plain_shape: no container here); only a channel
            # name, a str, is found.
            if (bounds := _BOUNDS.get(channel)) is None:
                return None
            if type(time_ms) is not int or not earliest <= time_ms <= latest:
                return None
            if type(value) is not float:
                if type(value) is int and -_INT_DIGITS_LIMIT < value < _INT_DIGITS_LIMIT:
                    value = float(value)
                else:
                    return None
            if not bounds[0] <= value <= bounds[1]:
                return None
            pairs += 4
            rows.append((channel, time_ms, seq, value, None, True))
            continue
        if not _READING_REQUIRED <= keys <= _READING_ALLOWED:
            return None
        pairs += len(keys)
        seq, channel, time_ms = raw["s"], raw["c"], raw["t"]
        if type(seq) is not int or not 0 <= seq <= MAX_SEQUENCE:
            return None
        if type(channel) is not str or (spec := CHANNELS.get(channel)) is None:
            return None
        if type(time_ms) is not int or not earliest <= time_ms <= latest:
            return None
        fault = None
        if "f" in raw:
            fault = raw["f"]
            if type(fault) is not str or fault not in FAULT_CODES:
                return None
        value = None
        if "v" in raw:
            value = raw["v"]
            if type(value) is int and -_INT_DIGITS_LIMIT < value < _INT_DIGITS_LIMIT:
                value = float(value)
            elif type(value) is not float:
                return None
            if fault is None:
                if not spec.low <= value <= spec.high:
                    return None
            elif not -_INF < value < _INF:  # 1e400 decodes to inf here; _finite_float refuses
                return None
        elif fault is None:
            return None
        synced = True
        if "u" in raw:
            if type(raw["u"]) is not int or raw["u"] != 1:
                return None
            synced = False
        rows.append((channel, time_ms, seq, value, fault, synced))
    # Every container is known now (the object, its list, the readings; all else scalars), so
    # each ':' in the text is one key of theirs unless a key repeats (or a string holds one).
    if text.count(":") != pairs:
        return None
    if len({row[2] for row in rows}) != len(rows):  # a repeated seq
        return None
    return probe_id, firmware, boot, rows
