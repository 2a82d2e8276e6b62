"""Payload types to bytes: compact JSON, the shapes the firmware sends and reads.

The servers encode `down/config` and `down/alarm` for probes; `encode_readings` serves the
simulators, the benchmarks and the tests.
"""

from __future__ import annotations

import json
from typing import Any

from coldchain.protocol.messages import (
    PROTOCOL_VERSION,
    AlarmCommand,
    ProbeConfig,
    ReadingsBatch,
)

__all__ = ["encode_alarm", "encode_config", "encode_readings"]


def encode_readings(batch: ReadingsBatch) -> bytes:
    """Compact JSON, the same shape the firmware sends (used by simulators and tests)."""
    out: dict[str, Any] = {"v": PROTOCOL_VERSION, "id": batch.probe_id, "fw": batch.firmware}
    if batch.boot is not None:
        out["boot"] = batch.boot
    rows = []
    for r in batch.readings:
        row: dict[str, Any] = {"s": r.seq, "c": r.channel, "t": r.time_ms}
        if r.value is not None:
            row["v"] = r.value
        if r.fault is not None:
            row["f"] = r.fault
        if not r.clock_synced:
            row["u"] = 1
        rows.append(row)
    out["r"] = rows
    return json.dumps(out, separators=(",", ":"), allow_nan=False).encode()


def encode_config(config: ProbeConfig) -> bytes:
    out: dict[str, Any] = {"v": PROTOCOL_VERSION, "interval": config.interval_s}
    if config.alarms:
        out["alarm"] = {
            ch: {k: v for k, v in (("high", a.high), ("low", a.low)) if v is not None}
            | {"delay": a.delay_s}
            for ch, a in config.alarms.items()
        }
    if config.offsets:
        out["offsets"] = dict(config.offsets)
    if config.door_open_max_s is not None:
        out["door_max"] = config.door_open_max_s
    return json.dumps(out, separators=(",", ":"), allow_nan=False).encode()


def encode_alarm(command: AlarmCommand) -> bytes:
    out: dict[str, Any] = {"v": PROTOCOL_VERSION, "on": command.on}
    if command.text:
        out["text"] = command.text
    if command.alert_id:
        out["alert"] = command.alert_id
    if not command.ring:
        out["ring"] = False
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
