"""Every example in docs/protocol.md is parsed: the documentation cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coldchain import protocol, serial_framing

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BLOCK = re.compile(r"```(json \w+|serial)\n(.*?)```", re.DOTALL)
NOW_MS = 1795320000000 + 3_600_000  # an hour after the examples' device times

EXAMPLES = [(m.group(1), m.group(2)) for m in BLOCK.finditer(DOC.read_text("utf-8"))]


def test_the_page_has_examples_of_every_kind() -> None:
    kinds = {info for info, _ in EXAMPLES}
    assert kinds == {"json readings", "json status", "json config", "json alarm", "serial"}


@pytest.mark.parametrize(("info", "body"), EXAMPLES, ids=[i for i, _ in EXAMPLES])
def test_example_is_valid(info: str, body: str) -> None:
    payload = body.encode("utf-8")
    if info == "json readings":
        result: object = protocol.parse_readings(
            payload, NOW_MS, "cc/v1/dev/van1-zone-a/up/readings"
        )
        assert isinstance(result, protocol.ReadingsBatch), result
        assert [r.seq for r in result.readings] == [1042, 1043, 1044, 1045, 1046]
        assert result.readings[3].fault == "disconnected" and result.readings[3].value is None
        assert not result.readings[4].clock_synced
    elif info == "json status":
        result = protocol.parse_status(payload, NOW_MS, "cc/v1/dev/van1-zone-a/up/status")
        assert isinstance(result, protocol.ProbeStatus), result
    elif info == "json config":
        result = protocol.parse_config(payload)
        assert isinstance(result, protocol.ProbeConfig), result
        assert result.alarms["product"] == protocol.ChannelAlarm(high=4.0, low=-2.0, delay_s=1800)
    elif info == "json alarm":
        result = protocol.parse_alarm(payload)
        assert isinstance(result, protocol.AlarmCommand), result
    else:
        up_line, ack_line = body.strip().splitlines()
        frame = serial_framing.parse_line(up_line.encode())
        assert isinstance(frame, serial_framing.UpFrame), frame
        batch = protocol.parse_readings(frame.payload, NOW_MS)
        assert isinstance(batch, protocol.ReadingsBatch), batch
        assert serial_framing.parse_line(ack_line.encode()) == serial_framing.AckFrame(frame.mid)
