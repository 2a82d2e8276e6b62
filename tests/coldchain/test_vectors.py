"""The shared contract vectors, run on the Python side (the firmware runs them on MicroPython)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import pytest

from coldchain import protocol, serial_framing
from coldchain.protocol import Reason, Rejection

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
T = TypeVar("T")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return data


def payload_of(vector: dict[str, Any]) -> bytes:
    if "payload_hex" in vector:
        return bytes.fromhex(vector["payload_hex"])
    return str(vector["payload"]).encode("utf-8")


READINGS = load("readings")
STATUS = load("status")


def outcome(vector: dict[str, Any], result: object, parsed: type[T]) -> T | None:
    """What the vector expects: a `parsed` value (returned), or a rejection with its reason."""
    if vector["expect"] == "ok":
        assert isinstance(result, parsed), result
        return result
    assert isinstance(result, Rejection), result
    assert result.reason == vector["expect"], result.detail
    return None


@pytest.mark.parametrize("vector", READINGS["vectors"], ids=lambda v: v["name"])
def test_readings_vector(vector: dict[str, Any]) -> None:
    result = protocol.parse_readings(payload_of(vector), READINGS["now_ms"], vector["topic"])
    batch = outcome(vector, result, protocol.ReadingsBatch)
    if batch is not None:
        assert len(batch.readings) == vector["count"]


@pytest.mark.parametrize("vector", STATUS["vectors"], ids=lambda v: v["name"])
def test_status_vector(vector: dict[str, Any]) -> None:
    result = protocol.parse_status(payload_of(vector), STATUS["now_ms"], vector["topic"])
    outcome(vector, result, protocol.ProbeStatus)


@pytest.mark.parametrize("vector", load("config")["vectors"], ids=lambda v: v["name"])
def test_config_vector(vector: dict[str, Any]) -> None:
    config = outcome(vector, protocol.parse_config(payload_of(vector)), protocol.ProbeConfig)
    if config is not None:
        # encoding what was parsed gives the same meaning back
        assert protocol.parse_config(protocol.encode_config(config)) == config


@pytest.mark.parametrize("vector", load("alarm")["vectors"], ids=lambda v: v["name"])
def test_alarm_vector(vector: dict[str, Any]) -> None:
    alarm = outcome(vector, protocol.parse_alarm(payload_of(vector)), protocol.AlarmCommand)
    if alarm is not None:
        assert protocol.parse_alarm(protocol.encode_alarm(alarm)) == alarm


@pytest.mark.parametrize("vector", load("serial")["vectors"], ids=lambda v: v["name"])
def test_serial_vector(vector: dict[str, Any]) -> None:
    frame = serial_framing.parse_line(vector["line"].encode("utf-8") + b"\n")
    expect = vector["expect"]
    if expect == "up":
        assert isinstance(frame, serial_framing.UpFrame), frame
        assert (frame.mid, frame.kind) == (vector["mid"], vector["kind"])
    elif expect == "ack":
        assert frame == serial_framing.AckFrame(vector["mid"])
    elif expect == "rej":
        assert frame == serial_framing.RejFrame(vector["mid"], vector["reason"])
    elif expect == "down":
        assert isinstance(frame, serial_framing.DownFrame), frame
        assert frame.kind == vector["kind"]
    else:
        assert isinstance(frame, serial_framing.BadLine), frame
        assert frame.error == expect


def test_every_reason_code_has_a_vector() -> None:
    covered = {
        v["expect"]
        for name in ("readings", "status", "config", "alarm")
        for v in load(name)["vectors"]
    }
    missing = {r.value for r in Reason} - covered
    assert not missing, f"reason codes without a vector: {sorted(missing)}"


def test_every_line_error_has_a_vector() -> None:
    covered = {v["expect"] for v in load("serial")["vectors"]}
    missing = {e.value for e in serial_framing.LineError} - covered
    assert not missing, f"line errors without a vector: {sorted(missing)}"
