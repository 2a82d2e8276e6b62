"""100,000 readings from 200 simulated probes through Mosquitto and the gateway, counted exactly.

- InfluxDB 1.6.7 through the v1 /write sink, counted with InfluxQL.
- VictoriaMetrics through the influxdb-client (/api/v2/write) sink, counted through its
  export API. No InfluxDB 2 server can be installed here; VictoriaMetrics is a real server
  implementing the same /api/v2/write endpoint, so the client path is exercised for real.
"""

from __future__ import annotations

from collections import Counter

from coldchain.readingstore.influxdb import InfluxQLReadingStore
from gateway.simulate import connect, expected_keys, fleet_batches, publish
from gateway.spool import Spool
from tests.gateway.conftest import past_start_ms, wait_until
from tests.harness.servers import InfluxDB1, Mosquitto, VictoriaMetrics

PROBES, TOTAL, PER_MESSAGE = 200, 100_000, 10


def _stream(broker: Mosquitto, start_ms: int) -> None:
    client = connect("127.0.0.1", broker.port, "simulator")
    assert publish(client, fleet_batches(PROBES, TOTAL, PER_MESSAGE, start_ms)) == TOTAL // 10
    client.disconnect()
    client.loop_stop()


def test_100k_readings_into_influxdb1(mosquitto, influxdb1: InfluxDB1, gateway_factory) -> None:
    gw = gateway_factory(mosquitto, {"kind": "influxdb1", "url": influxdb1.url})
    gw.start()
    start_ms = past_start_ms()
    _stream(mosquitto, start_ms)
    store = InfluxQLReadingStore(influxdb1.url, "coldchain")
    wait_until(lambda: store.count() >= TOTAL, 120, "all readings in InfluxDB")
    assert gw.stop() == 0  # SIGTERM: graceful, exit status 0, spool flushed
    spool = Spool(gw.spool_path)
    assert spool.depth() == 0
    spool.close()
    assert store.count() == TOTAL
    # Exactly the published keys: every probe has its 500, in its own time range.
    for probe in ("sim-000", "sim-137", "sim-199"):
        got = store.readings(probe, start_ms, start_ms + 10**9)
        assert [r.seq for r in got] == list(range(TOTAL // PROBES))
    store.close()


def test_100k_readings_into_victoria_metrics(
    mosquitto, victoria_metrics: VictoriaMetrics, gateway_factory
) -> None:
    gw = gateway_factory(
        mosquitto,
        {"kind": "influxdb2", "url": victoria_metrics.url, "token": "not-checked-by-vm"},
    )
    gw.start()
    start_ms = past_start_ms()
    _stream(mosquitto, start_ms)

    def samples() -> Counter[tuple[str, str, int]]:
        keys: Counter[tuple[str, str, int]] = Counter()
        for series in victoria_metrics.export('{__name__="reading_seq"}'):
            labels = series["metric"]
            for ts in series["timestamps"]:
                keys[(labels["probe"], labels["channel"], ts)] += 1
        return keys

    wait_until(lambda: sum(samples().values()) >= TOTAL, 120, "all readings in VictoriaMetrics")
    assert gw.stop() == 0
    got = samples()
    assert sum(got.values()) == TOTAL
    assert set(got) == expected_keys(PROBES, TOTAL, PER_MESSAGE, start_ms)
