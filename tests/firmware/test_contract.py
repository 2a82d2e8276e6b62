"""The shared vectors on MicroPython: the firmware agrees with coldchain.protocol."""

from __future__ import annotations

import json

from coldchain import protocol
from coldchain.serial_framing import parse_line
from tests.conftest import FIRMWARE, VECTORS
from tests.firmware.conftest import FW_TESTS
from tests.harness.servers import MicroPython


def _run(micropython: MicroPython, script: str, *args: str) -> str:
    done = micropython.run(FW_TESTS / script, module_path=[FIRMWARE], args=args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_config_alarm_and_serial_vectors_give_the_same_verdicts(micropython: MicroPython) -> None:
    verdicts = json.loads(_run(micropython, "vectors.py", str(VECTORS)))
    for name in ("config", "alarm"):
        vectors = json.loads((VECTORS / f"{name}.json").read_text())["vectors"]
        assert len(verdicts[name]) == len(vectors)
        for v in vectors:
            assert verdicts[name][v["name"]] == v["expect"], v["name"]
    for v in json.loads((VECTORS / "serial.json").read_text())["vectors"]:
        assert verdicts["serial"][v["name"]] == v["expect"], v["name"]
    for probe_id, ok in verdicts["ids"].items():
        assert ok == bool(protocol.PROBE_ID_RE.fullmatch(probe_id)), probe_id
    assert len(verdicts["ids"]) == 9


def test_firmware_payloads_are_accepted_by_the_validator(micropython: MicroPython) -> None:
    readings, many, status, will, up_line = _run(micropython, "encode.py").splitlines()
    now = 1795320000000
    batch = protocol.parse_readings(readings.encode(), now, "cc/v1/dev/van1-zone-a/up/readings")
    assert isinstance(batch, protocol.ReadingsBatch), batch
    assert batch.boot == 7
    got = [(r.seq, r.channel, r.value, r.fault, r.clock_synced) for r in batch.readings]
    assert got == [
        (1, "air", 3.5, None, True),
        (2, "product", -21.25, None, True),
        (3, "door", 1, None, True),
        (4, "humidity", 87.5, None, False),
        (5, "air", 85, "power_on_value", True),
        (6, "air", None, "disconnected", True),
        (7, "battery", 12.6, None, True),
        (8, "air", -0.05, None, True),
    ]
    big = protocol.parse_readings(many.encode(), now)
    assert isinstance(big, protocol.ReadingsBatch) and len(big.readings) == 200
    assert isinstance(protocol.parse_status(status.encode(), now), protocol.ProbeStatus)
    last_will = protocol.parse_status(will.encode(), now)
    assert isinstance(last_will, protocol.ProbeStatus) and last_will.online is False
    frame = parse_line(up_line.encode())
    assert not hasattr(frame, "error"), frame
    assert isinstance(protocol.parse_readings(frame.payload, now), protocol.ReadingsBatch)  # type: ignore[union-attr]
