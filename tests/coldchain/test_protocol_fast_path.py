"""parse_readings' fast path may only say yes, and only where the full validator says the same.

`_fast_readings` skips the decoder hooks and the contract's check order for plainly valid
messages; these tests hold it to the full validator (`_full_readings`) on the shared vectors,
on valid batches, and on many near-misses of a valid message (each should be refused, or
accepted identically), so the two cannot drift apart unnoticed. The C-speed nesting guard
is held to the character-by-character scan it replaced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coldchain import protocol
from coldchain.protocol import ReadingsBatch, Rejection, fast_path, validation

NOW_MS = 1795320000000
VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "readings.json").read_text("utf-8")
)
VALID = (
    b'{"v":1,"id":"van1","fw":"1.0.0","boot":3,"r":['
    b'{"s":1,"c":"air","t":1795319940000,"v":3.5},'
    b'{"s":2,"c":"product","t":1795319940000,"v":-1,"u":1},'
    b'{"s":3,"c":"air","t":1795319940000,"v":-127.0,"f":"disconnected"},'
    b'{"s":4,"c":"humidity","t":1795319940000,"f":"i2c_nack"}]}'
)


def agree(payload: bytes | str, topic_id: str | None = "van1", now_ms: int = NOW_MS) -> Any:
    """The fast answer, checked against the full validator's."""
    fast = fast_path._fast_readings(payload, topic_id, now_ms)
    full = validation._full_readings(payload, topic_id, now_ms)
    if fast is not None:
        assert isinstance(full, ReadingsBatch), (payload, full)
        assert fast == full
    return fast


def payload_of(vector: dict[str, Any]) -> bytes:
    if "payload_hex" in vector:
        return bytes.fromhex(vector["payload_hex"])
    return str(vector["payload"]).encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_agree(vector: dict[str, Any]) -> None:
    topic_id = validation._topic_probe_id(vector["topic"], protocol.Kind.READINGS)
    if isinstance(topic_id, Rejection):  # refused on the topic before either path runs
        agree(payload_of(vector), None, VECTORS["now_ms"])
        return
    fast = agree(payload_of(vector), topic_id, VECTORS["now_ms"])
    assert (fast is None) == (vector["expect"] != "ok")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_rows_say_what_readings_say(vector: dict[str, Any]) -> None:
    """`parse_reading_rows` (the gateway's) gives `parse_readings`' verdict, as rows."""
    args = (payload_of(vector), VECTORS["now_ms"], vector["topic"])
    rows, whole = protocol.parse_reading_rows(*args), protocol.parse_readings(*args)
    if isinstance(whole, Rejection):
        assert rows == whole
    else:
        fields = [(r.channel, r.time_ms, r.seq, r.value, r.fault, r.clock_synced)
                  for r in whole.readings]  # fmt: skip
        assert rows == (whole.probe_id, fields)


def test_the_valid_message_takes_the_fast_path() -> None:
    assert isinstance(agree(VALID), ReadingsBatch)
    assert protocol.parse_readings(VALID, NOW_MS, "cc/v1/dev/van1/up/readings") == agree(VALID)


NEAR_MISSES = {
    "duplicate key in a reading": VALID.replace(b'"v":3.5}', b'"v":3.5,"v":3.6}'),
    "duplicate top-level key": VALID.replace(b'"boot":3,', b'"boot":3,"boot":4,'),
    "colon inside a string hides a duplicate": VALID.replace(
        b'"fw":"1.0.0"', b'"fw":"1:0"'
    ).replace(b'"v":3.5}', b'"v":3.5,"v":3.6}'),
    "NaN": VALID.replace(b"3.5", b"NaN"),
    "Infinity under a fault": VALID.replace(b"-127.0", b"-Infinity"),
    "overflow under a fault": VALID.replace(b"-127.0", b"-1e400"),
    "21-digit integer under a fault": VALID.replace(b"-127.0", b"-100000000000000000000"),
    "20-digit integer under a fault": VALID.replace(b"-127.0", b"-99999999999999999999"),
    "5000-digit integer": VALID.replace(b"-127.0", b"9" * 5000),
    "float version": VALID.replace(b'"v":1,', b'"v":1.0,'),
    "true version": VALID.replace(b'"v":1,', b'"v":true,'),
    "float u": VALID.replace(b'"u":1', b'"u":1.0'),
    "true u": VALID.replace(b'"u":1', b'"u":true'),
    "boolean value": VALID.replace(b"3.5", b"true"),
    "null fault": VALID.replace(b'"f":"i2c_nack"', b'"f":null'),
    "null boot": VALID.replace(b'"boot":3', b'"boot":null'),
    "nested value": VALID.replace(b"3.5", b"[3.5]"),
    "too deep": VALID.replace(b"3.5", b'{"a":{"b":[1]}}'),
    "escaped quote in a string": VALID.replace(b'"1.0.0"', b'"1.0\\"0"'),
    "unknown field": VALID.replace(b'"boot":3', b'"boot":3,"x":{}'),
    "BOM": b"\xef\xbb\xbf" + VALID,
    "trailing garbage": VALID + b"x",
    "not UTF-8": VALID.replace(b"van1", b"van\xff"),
    "duplicate seq": VALID.replace(b'"s":2', b'"s":1'),
    "future time": VALID.replace(b"1795319940000", b"1795330000000"),
    "value out of range": VALID.replace(b"3.5", b"85.5"),
    "unknown fault": VALID.replace(b"disconnected", b"melted"),
}


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_misses_go_to_the_full_validator(name: str) -> None:
    payload = NEAR_MISSES[name]
    if name == "20-digit integer under a fault":  # still within the contract: both accept
        assert agree(payload) is not None
    else:
        assert agree(payload) is None
    assert agree(payload.decode("utf-8", "replace")) is None  # str input: always the full path


# The usual reading (`s`, `c`, `t`, `v` only) has its own shorter checks: each one still holds.
USUAL = b'{"s":1,"c":"air","t":1795319940000,"v":3.5}'
USUAL_MISSES = {
    "boolean seq": b'"s":true',
    "float seq": b'"s":1.0',
    "negative seq": b'"s":-1',
    "numeric channel": b'"c":1',
    "null channel": b'"c":null',
    "unknown channel": b'"c":"Air"',
    "string time": b'"t":"1795319940000"',
    "time too early": b'"t":1',
    "string value": b'"v":"3.5"',
    "null value": b'"v":null',
    "boolean value": b'"v":false',
    "21-digit integer value": b'"v":100000000000000000000',
    "value over the range": b'"v":85.000001',
    "value under the range": b'"v":-56',
}


@pytest.mark.parametrize("name", USUAL_MISSES)
def test_the_usual_reading_is_checked_as_any(name: str) -> None:
    field = USUAL_MISSES[name]
    old = {b"s": b'"s":1', b"c": b'"c":"air"', b"t": b'"t":1795319940000', b"v": b'"v":3.5'}
    payload = VALID.replace(USUAL, USUAL.replace(old[field[1:2]], field))
    assert payload != VALID
    assert agree(payload) is None
    assert isinstance(validation._full_readings(payload, "van1", NOW_MS), Rejection)


def test_the_usual_reading_takes_integers_and_the_range_ends() -> None:
    for value in (b"3", b"85", b"-55.0", b"0"):
        assert agree(VALID.replace(USUAL, USUAL.replace(b"3.5", value))) is not None


def test_topic_mismatch_and_oversize_go_to_the_full_validator() -> None:
    assert agree(VALID, "van2") is None
    assert agree(VALID[:-1] + b" " * protocol.MAX_PAYLOAD_BYTES + b"}") is None


readings = st.lists(
    st.builds(
        protocol.Reading,
        probe_id=st.just("van1"),
        channel=st.sampled_from(sorted(protocol.CHANNELS)),
        time_ms=st.integers(protocol.EARLIEST_TIME_MS - 5, NOW_MS + protocol.MAX_FUTURE_MS + 5),
        seq=st.integers(0, protocol.MAX_SEQUENCE),
        value=st.none() | st.floats(-200, 200) | st.integers(-(10**21), 10**21),
        fault=st.none() | st.sampled_from([*sorted(protocol.FAULT_CODES), "x"]),
        clock_synced=st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(readings, st.none() | st.integers(-1, 10), st.sampled_from(["1.0", "a b", "fw:1"]))
def test_random_batches_agree(rows: list[protocol.Reading], boot: int | None, fw: str) -> None:
    payload = protocol.encode_readings(ReadingsBatch("van1", fw, tuple(rows), boot))
    agree(payload)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.binary(min_size=0, max_size=3), st.integers(0, 3))
def test_mutated_bytes_agree(at: int, insert: bytes, cut: int) -> None:
    agree(VALID[:at] + insert + VALID[at + cut :])


def test_hostile_inputs_are_refused_quickly() -> None:
    for payload in (b"[" * 16_000, b'{"a":' * 2000 + b"1" + b"}" * 2000, b"[" * 10_000_000):
        assert agree(payload) is None
        assert isinstance(protocol.parse_readings(payload, NOW_MS), Rejection)


TOKENS = ["{", "[", "}", "]", '"a"', '"["', '"}"', '"{"', '""', '"', ":", "\\", "é", "{}", "{}{}"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_plain_shape_is_never_deeper_than_three(tokens: list[str]) -> None:
    text = "".join(tokens)
    if fast_path._plain_shape(text.encode("utf-8")):
        assert not validation._depth_exceeds(text, 3), text
        assert validation._depth_exceeds(text, 2), text  # exactly three


def test_plain_shape_cases() -> None:
    plain = fast_path._plain_shape
    assert plain(VALID)
    assert plain(b'{"r":[{"a":"x"},{}],"b":""}')
    assert not plain(b'{"r":[{"a":"]"}]}')  # a bracket inside a string: the full guard decides
    assert not plain(b'{"r":[{"a":"}",{"b":1},"{"}]}')  # would look plain, is 4 deep
    assert not plain(b'{"r":[{"a":"\\u005d"}]}')  # a backslash: likewise
    assert not plain(b'{"r":[{"a":{}}]}')  # depth 4
    assert not plain(b'{"r":[]}{')
    assert not plain(b"{[]}" + b"[" * 16_000)


def char_scan_depth_exceeds(text: str, limit: int) -> bool:
    """The nesting guard as it was, one character at a time: the oracle for the C-speed one."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet='[]{}"\\a:\né', max_size=40), st.integers(0, 5))
def test_depth_guard_answers_as_the_character_scan(text: str, limit: int) -> None:
    assert validation._depth_exceeds(text, limit) == char_scan_depth_exceeds(text, limit)
