"""MQTT over TLS with the broker's CA, as a probe on a public network would connect."""

from __future__ import annotations

import json
from collections.abc import Callable

from coldchain import protocol
from tests.firmware.conftest import Collector, SimProbe, now_ms, probe_config, scenario
from tests.harness.servers import Mosquitto


def test_readings_over_tls_verified_against_the_ca(
    mosquitto_tls: Mosquitto,
    sim: Callable[..., SimProbe],
    collector_factory: Callable[[Mosquitto], Collector],
) -> None:
    assert mosquitto_tls.ca_file is not None
    server = collector_factory(mosquitto_tls)
    cfg = probe_config(None)
    cfg["mqtt"] = {
        "host": "127.0.0.1",
        "port": mosquitto_tls.port,
        "tls": True,
        "ca_file": str(mosquitto_tls.ca_file),
        "response_s": 5,
        "max_backoff_s": 2,
    }
    probe = sim(cfg, scenario())
    probe.start()
    try:
        server.wait_for(lambda: len(server.readings()) >= 6)
    finally:
        probe.stop()
        print("\n".join(probe.lines))
    for topic, payload, _ in server.messages:
        if topic.endswith("/up/readings"):
            assert isinstance(
                protocol.parse_readings(payload, now_ms(), topic), protocol.ReadingsBatch
            )
    assert [r["s"] for r in server.readings()][:6] == [1, 2, 3, 4, 5, 6]
    assert json.loads(server.messages[0][1])["id"] == "probe-01"


def test_a_broker_with_an_unknown_certificate_gets_nothing(
    mosquitto_tls: Mosquitto, sim: Callable[..., SimProbe]
) -> None:
    assert mosquitto_tls.ca_file is not None
    # Another CA than the broker's: the handshake must fail and the probe keep its readings.
    other = mosquitto_tls.ca_file.parent / "server.crt"
    cfg = probe_config(None)
    cfg["mqtt"] = {"host": "127.0.0.1", "port": mosquitto_tls.port, "tls": True,
                   "ca_file": str(other), "response_s": 5, "max_backoff_s": 2}  # fmt: skip
    probe = sim(cfg, scenario())
    probe.start()
    probe.wait_line(lambda s: "mqtt link down" in s)
    probe.wait_line(lambda s: "mqtt link down" in s, since=probe.mark())  # and it keeps trying
    probe.assert_alive()
    assert not any("publish" in s for s in probe.lines)
