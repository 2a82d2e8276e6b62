"""Hostile input over MQTT: the shared invalid vectors and hypothesis-fuzzed payloads.

Every message is quarantined with the validator's reason (or accepted when valid), counted
by reason, kept with its payload, acknowledged; the gateway stays up. The gateway runs in
this process (on a real Mosquitto) so the test can pin its clock to the vectors' `now_ms`:
the shared vectors' timestamp cases are written against that instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coldchain import protocol
from gateway.app import Gateway
from gateway.simulate import connect
from tests.gateway.conftest import gateway_in_process, wait_until
from tests.harness.servers import Mosquitto

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
READINGS = json.loads((VECTORS / "readings.json").read_text())
STATUS = json.loads((VECTORS / "status.json").read_text())
NOW_MS = READINGS["now_ms"]
assert STATUS["now_ms"] == NOW_MS


def _payload(vector: dict[str, object]) -> bytes:
    if "payload_hex" in vector:
        return bytes.fromhex(str(vector["payload_hex"]))
    return str(vector["payload"]).encode()


def _routable(topic: object) -> bool:
    """Topics the gateway's subscription (`cc/v1/dev/+/up/#`) receives: no wildcard, the root,
    one level of probe id, then `up` (an unknown suffix such as `up/other` included)."""
    if not isinstance(topic, str) or "+" in topic or "#" in topic:
        return False
    levels = topic.split("/")
    return topic.startswith("cc/v1/dev/") and len(levels) >= 5 and levels[4] == "up"


def _expected(payload: bytes, topic: str) -> str:
    """The reason the gateway must give, or "ok": the topic decides the message kind."""
    if topic.endswith("/up/status"):
        result: object = protocol.parse_status(payload, NOW_MS, topic)
    else:
        result = protocol.parse_readings(payload, NOW_MS, topic)
    return result.reason.value if isinstance(result, protocol.Rejection) else "ok"


@pytest.fixture
def gateway(mosquitto: Mosquitto, tmp_path: Path, monkeypatch) -> Iterator[Gateway]:
    # The one thing not real here: the clock, pinned to the vectors' instant.
    monkeypatch.setattr("gateway.intake.now_ms", lambda: NOW_MS)
    yield from gateway_in_process(mosquitto.port, tmp_path, "gw-bad-input")


def _messages(gw: Gateway) -> float:
    total = 0.0
    for kind in ("readings", "status"):
        labels = {"source": "mqtt", "kind": kind}
        value = gw.metrics.registry.get_sample_value(
            "coldchain_gateway_messages_received_total", labels
        )
        total += value or 0.0
    return total


def _rejected(gw: Gateway) -> Counter[str]:
    out: Counter[str] = Counter()
    for metric in gw.metrics.registry.collect():
        if metric.name == "coldchain_gateway_rejected":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    out[sample.labels["reason"]] = int(sample.value)
    return out


def test_shared_vectors_are_quarantined_with_their_reason(gateway: Gateway, mosquitto) -> None:
    sent: list[tuple[str, bytes]] = []
    for kind, vectors in (("readings", READINGS), ("status", STATUS)):
        for vector in vectors["vectors"]:
            if not _routable(vector["topic"]):
                continue  # a subscription never receives it (wildcard, other root or suffix)
            topic, payload = vector["topic"], _payload(vector)
            sent.append((topic, payload))
            if topic.endswith(f"/up/{kind}"):  # on its own kind's topic: exactly its reason
                assert _expected(payload, topic) == vector["expect"], vector["name"]
    probe = connect("127.0.0.1", mosquitto.port, "bad-prober")
    for topic, payload in sent:
        probe.publish(topic, payload, qos=1)
    wait_until(lambda: _messages(gateway) >= len(sent), 30, "every vector processed")
    assert gateway.intake.flush(10)
    expected = Counter(_expected(p, t) for t, p in sent)
    accepted = expected.pop("ok")
    assert _rejected(gateway) == expected
    assert gateway.spool.quarantine_counts() == dict(expected)
    assert accepted > 10 and sum(expected.values()) > 40
    assert "payload_too_large" in expected and "not_utf8" in expected
    # Each quarantined item keeps the exact payload for inspection.
    kept = {q.payload for q in gateway.spool.quarantine(limit=1000)}
    assert kept == {p for t, p in sent if _expected(p, t) != "ok"}
    # The valid status vectors updated the probe's latest status.
    assert gateway.spool.statuses()["van1-zone-a"]["probe_id"] == "van1-zone-a"
    # An operator lists them: `coldchain gateway quarantine` (through `python -m coldchain.cli`).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    env["COLDCHAIN_GATEWAY__SPOOL_PATH"] = str(gateway.spool.path)

    def gateway_cli(*args: str) -> str:
        command = [sys.executable, "-m", "coldchain.cli", "gateway", *args]
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=True, timeout=60
        )
        return done.stdout

    out = gateway_cli("quarantine", "--reason", "too_deep", "--json")
    listed = [json.loads(line) for line in out.splitlines()]
    assert listed and all(item["reason"] == "too_deep" for item in listed)
    assert listed[0]["topic"] == "cc/v1/dev/van1-zone-a/up/readings"
    status = gateway_cli("status")
    assert "payload_too_large" in status and "van1-zone-a" in status
    probe.disconnect()
    probe.loop_stop()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
reading_like = st.fixed_dictionaries(
    {
        "s": st.integers(-5, 2**60),
        "c": st.sampled_from(["air", "product", "door", "x"]),
        "t": st.integers(NOW_MS - 10**12, NOW_MS + 10**9),
    },
    optional={
        "v": st.floats() | st.integers() | st.text(max_size=3),
        "f": st.text(max_size=14),
        "u": st.integers(0, 2),
    },
)
batch_like = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 1, 2, "1"]),
        "id": st.sampled_from(["fuzz-probe", "other", "A"]),
        "fw": st.sampled_from(["1.0", "", "x" * 40]),
        "r": st.lists(reading_like, max_size=4),
    },
    optional={"boot": st.integers(-1, 10), "extra": json_values},
)
payloads = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    batch_like.map(lambda v: json.dumps(v).encode()),
)


def test_fuzzed_payloads_never_crash_and_are_all_accounted(gateway: Gateway, mosquitto) -> None:
    topic = "cc/v1/dev/fuzz-probe/up/readings"
    probe = connect("127.0.0.1", mosquitto.port, "fuzzer")
    sent: list[bytes] = []

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payloads)
    def publish(payload: bytes) -> None:
        probe.publish(topic, payload, qos=1)
        sent.append(payload)

    publish()
    wait_until(lambda: _messages(gateway) >= len(sent), 60, "every fuzzed message processed")
    time.sleep(0.2)
    assert gateway.intake.flush(10)
    expected = Counter(_expected(p, topic) for p in sent)
    accepted = expected.pop("ok", 0)
    assert len(expected) >= 5, expected  # the fuzzer reached many different reasons
    assert _rejected(gateway) == expected
    assert sum(gateway.spool.quarantine_counts().values()) == sum(expected.values())
    assert sum(expected.values()) + accepted == len(sent) == _messages(gateway)
    assert gateway.mqtt is not None and gateway.mqtt.connected.is_set()
    probe.disconnect()
    probe.loop_stop()


def test_huge_payload_is_quarantined_truncated(gateway: Gateway, mosquitto) -> None:
    huge = b'{"v":1,"id":"van1-zone-a","fw":"1","r":[' + b" " * 300_000 + b"]}"
    probe = connect("127.0.0.1", mosquitto.port, "huge")
    probe.publish("cc/v1/dev/van1-zone-a/up/readings", huge, qos=1).wait_for_publish(10)
    wait_until(lambda: _messages(gateway) >= 1, 20, "huge message processed")
    assert gateway.intake.flush(10)
    (kept,) = gateway.spool.quarantine(reason="payload_too_large")
    assert kept.payload == huge[: len(kept.payload)] and len(kept.payload) == 4 * 16_384
    assert "300" in kept.detail and "bytes" in kept.detail
    probe.disconnect()
    probe.loop_stop()
