"""Hostile and random input: the validator answers with a reason, never raises."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from coldchain import protocol, serial_framing
from coldchain.protocol import Reason, Rejection

NOW_MS = 1795320000000
TOPIC = "cc/v1/dev/van1/up/readings"


def reject_reason(payload: bytes | str, topic: str | None = TOPIC) -> Reason:
    result = protocol.parse_readings(payload, NOW_MS, topic)
    assert isinstance(result, Rejection), result
    return result.reason


def test_ten_megabytes_is_refused_on_size_before_parsing() -> None:
    assert reject_reason(b"[" * 10_000_000) is Reason.PAYLOAD_TOO_LARGE
    assert reject_reason("é" * 9000) is Reason.PAYLOAD_TOO_LARGE  # counted in bytes, not chars


def test_deep_nesting_within_the_size_limit_is_refused_without_recursion() -> None:
    assert reject_reason("[" * 16_000) is Reason.TOO_DEEP
    assert reject_reason('{"a":' * 2000 + "1" + "}" * 2000) is Reason.TOO_DEEP


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    payload = json.dumps({"v": 1, "id": "van1", "fw": "[[[[[[", "r": []})
    assert reject_reason(payload) is Reason.INVALID_FIRMWARE_VERSION


def test_utf16_and_overlong_utf8_are_not_utf8() -> None:
    assert reject_reason('{"v":1}'.encode("utf-16")) is Reason.NOT_UTF8
    assert reject_reason(b'{"id":"\xc0\xaf"}') is Reason.NOT_UTF8


def test_control_characters_and_wildcards_in_topic_ids() -> None:
    for bad in (
        "cc/v1/dev/van\x00/up/readings",
        "cc/v1/dev/#/up/readings",
        "cc/v1/dev//up/readings",
    ):
        assert reject_reason(b"{}", bad) is Reason.INVALID_PROBE_ID


def test_huge_exponent_and_long_integer() -> None:
    reading = '{"v":1,"id":"van1","fw":"1","r":[{"s":1,"c":"air","t":%d,"v":%s}]}'
    assert reject_reason(reading % (NOW_MS, "1e400")) is Reason.NON_FINITE_NUMBER
    assert reject_reason(reading % (NOW_MS, "1" * 4000)) is Reason.VALUE_OUT_OF_RANGE
    underflow = protocol.parse_readings(reading % (NOW_MS, "-1e-400"), NOW_MS, TOPIC)
    assert isinstance(underflow, protocol.ReadingsBatch)  # underflows to -0.0: a real number
    assert underflow.readings[0].value == 0.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes) -> None:
    for parse in (
        lambda p: protocol.parse_readings(p, NOW_MS, TOPIC),
        lambda p: protocol.parse_status(p, NOW_MS),
        protocol.parse_config,
        protocol.parse_alarm,
    ):
        result = parse(data)
        assert result is not None
    assert serial_framing.parse_line(data) is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "id", "fw", "r", "boot", "x"]), json_values))
def test_random_shapes_get_a_reason(obj: dict[str, object]) -> None:
    result = protocol.parse_readings(json.dumps(obj), NOW_MS, TOPIC)
    assert isinstance(result, Rejection | protocol.ReadingsBatch)


readings_strategy = st.lists(
    st.builds(
        protocol.Reading,
        probe_id=st.just("van1"),
        channel=st.sampled_from(["air", "product"]),
        time_ms=st.integers(protocol.EARLIEST_TIME_MS, NOW_MS),
        seq=st.integers(0, protocol.MAX_SEQUENCE),
        value=st.floats(-55, 85),
        fault=st.none(),
        clock_synced=st.booleans(),
    ),
    min_size=1,
    max_size=protocol.MAX_READINGS_PER_MESSAGE,
    unique_by=lambda r: r.seq,
)


@settings(max_examples=100, deadline=None)
@given(readings_strategy)
def test_encode_then_parse_gives_the_same_readings(readings: list[protocol.Reading]) -> None:
    batch = protocol.ReadingsBatch("van1", "1.0.0", tuple(readings), boot=3)
    assert protocol.parse_readings(protocol.encode_readings(batch), NOW_MS, TOPIC) == batch


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 65535), st.sampled_from(["readings", "status"]), st.binary(max_size=200))
def test_serial_frames_round_trip(mid: int, kind: str, payload: bytes) -> None:
    payload = payload.replace(b"\n", b"").replace(b"\r", b"")
    frame = serial_framing.parse_line(serial_framing.encode_up(mid, kind, payload))
    assert frame == serial_framing.UpFrame(mid, kind, payload)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 65535), st.binary(min_size=1, max_size=200), st.integers(0, 10_000))
def test_a_flipped_byte_in_a_frame_is_caught(mid: int, payload: bytes, where: int) -> None:
    payload = payload.replace(b"\n", b"").replace(b"\r", b"")
    line = bytearray(serial_framing.encode_up(mid, "readings", payload).rstrip(b"\n"))
    index = where % len(line)
    line[index] ^= 0x01
    frame = serial_framing.parse_line(bytes(line))
    # Either the frame is refused, or (flip in the verb/kind) it is not a valid UP frame of ours.
    assert not (
        isinstance(frame, serial_framing.UpFrame) and frame.payload != payload and frame.mid == mid
    )
