"""The real firmware (MicroPython, firmware/esp32/) in a van that loses the network, the real
broker, the real alert worker: after the outage the probe sends its newest readings first,
then the backlog oldest first in batches of 20 (firmware/esp32/uplink.py). The excursion the
backlog reveals is judged critical AND detected late, exactly as the same readings sent
oldest first; what is published and stored carries the engine's figures; a reading near the
legal limit raises nothing, and a warning beyond it shows on the probe's display without
ringing until it turns critical (docs/alerts.md, "Alert policy").

The worker and the probes share the demo's fast clock (coldchain/clock.py, board_sim.py):
`SPEED` scenario minutes per real minute, so a 40-minute outage takes 20 s, and lateness is
judged in the scenario's own time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.engine import Engine
from alerts.events import figures, record_fields
from alerts.findings import AlertKind, Record
from coldchain import clock
from coldchain.protocol import Reading, ReadingsBatch, parse_readings
from coldchain.settings import ClockSettings
from server.alerting.places import zone_key
from server.alerting.worker import AlertWorker
from server.core.models.alerts import Alert, AlertEntry, Notification
from tests.alerting.support import PROBE, Site, build_site, settings_for, start_smtp, wait_for
from tests.alerts.helpers import excursion_view
from tests.firmware.conftest import Collector, SimProbe
from tests.harness.servers import MicroPython, Mosquitto, make_mosquitto
from tests.server.world import iso

SPEED = 120  # scenario seconds per real second
MIN_S = 60
OUTAGE = (10 * MIN_S, 50 * MIN_S)  # no network from scenario minute 10 to minute 50
FREEZE = 62 * MIN_S  # the network goes again for good: nothing more arrives after this
OLDEST_FIRST = "van-a-2"  # a second probe in the same zone, whose uplink never goes "live"


@dataclass
class Van:
    site: Site
    worker: AlertWorker
    collector: Collector
    start_s: int  # device time (unix s) of scenario second 0
    t0: float  # host time of scenario second 0
    probes: dict[str, SimProbe]
    location: str

    def device_ms(self, scenario_s: int) -> int:
        """The device time (UTC ms) of a scenario second."""
        return (self.start_s + scenario_s) * 1000


def _site(
    stack: ExitStack, folder: Path, category: str, departure_c: float
) -> tuple[Site, Mosquitto, Collector]:
    """Zone "frais" of van VA with a lot of `category` and probe van-a-2 installed beside
    van-a-1, on a broker and an SMTP server of its own, and a collector on that broker;
    all stopped by `stack`."""
    mosquitto = make_mosquitto(folder / "mosquitto")
    mosquitto.start()
    stack.callback(mosquitto.stop)
    smtp, _inbox = start_smtp()
    stack.callback(smtp.stop)
    settings = settings_for(folder, mosquitto.port, smtp.port, escalation_after_min=600)
    site_gen = build_site(
        settings,
        pickup_ago=timedelta(minutes=90),  # on board before the fast clock's first minute
        cargo=((category, None),),
        departure_c=departure_c,
    )
    site = next(site_gen)
    stack.callback(site_gen.close)
    admin = site.world["admin_a"]
    second = admin.ok(
        "POST", "/api/v1/probes", {"probe_id": OLDEST_FIRST, "owner_id": site.ids["A"]}, 201
    )
    install = {"zone_id": site.ids["VA_frais"], "start": iso(site.now - timedelta(days=1))}
    admin.ok("POST", f"/api/v1/probes/{second['id']}/installations", install, 201)
    collector = Collector(mosquitto)
    stack.callback(collector.close)
    return site, mosquitto, collector


@pytest.fixture(scope="module")
def vans(
    tmp_path_factory: pytest.TempPathFactory, micropython: MicroPython
) -> Iterator[dict[str, Van]]:
    """Both vans of this file on the road at once, on one fast clock (they wait on it, each
    alone took as long): "minced" and "frozen" of CASES, each with its own broker, SMTP
    server, site and worker; one probe with the firmware's defaults (van-a-1) and one that
    sends oldest first (van-a-2), both through the outage. The tests only watch them; the
    minced meat's, first in this file, looks while its van is on the road."""
    with ExitStack() as stack:
        stack.callback(clock.configure, ClockSettings())  # the real clock for the next tests
        sites = {
            name: _site(stack, tmp_path_factory.mktemp(name), category, departure_c)
            for name, (category, departure_c, _series) in CASES.items()
        }
        t0 = time.time() + 2.0  # the probes' scenario second 0
        meets = t0 + 36.0  # the fast clock meets real time at scenario minute 72
        start_s = int(meets - (meets - t0) * SPEED)
        fast = ClockSettings(speed=SPEED, meets_real_at=meets)
        vans: dict[str, Van] = {}
        for name, (site, mosquitto, collector) in sites.items():
            worker = AlertWorker(site.settings.model_copy(update={"clock": fast}))
            worker.start()
            stack.callback(worker.stop)
            wait_for(worker.mqtt.subscribed.is_set)
            series = CASES[name][2]
            scenario = {
                "t0": t0,
                "start": start_s,
                "speed": SPEED,
                "meets_real_at": meets,
                "series": {"air": [[0, series[0][1]]], "product": series},
                "door": [[0, 0]],
                "offline": [list(OUTAGE), [FREEZE, 10**9]],
            }
            probes: dict[str, SimProbe] = {}
            for probe_id, live_threshold in ((PROBE, 60), (OLDEST_FIRST, 10**6)):
                cfg: dict[str, Any] = {
                    "id": probe_id,
                    "interval_s": 60,
                    "stable_s": 30,
                    "live_threshold": live_threshold,
                    "mqtt": {
                        "host": mosquitto.host,
                        "port": mosquitto.port,
                        "keepalive_s": 10,
                        "response_s": 5,
                        "max_backoff_s": 1,  # real seconds (plus jitter): 2 to 4 scenario min
                    },
                }
                folder = site.settings.data_dir / probe_id
                probe = SimProbe(micropython, folder, cfg, scenario)
                probes[probe_id] = probe
                stack.callback(_stop, f"{name} {probe_id}", probe)
                probe.start()
            key = zone_key(site.ids["VA_frais"])
            vans[name] = Van(site, worker, collector, start_s, t0, probes, key)
        yield vans


def _stop(name: str, probe: SimProbe) -> None:
    probe.stop()
    print(f"--- {name}: last lines ---", *probe.lines[-60:], sep="\n")


def received(van: Van) -> list[Reading]:
    """Every reading the broker delivered (the collector's own persistent session), once."""
    now = clock.now_ms()
    found: dict[tuple[str, str, int], Reading] = {}
    for topic, payload, _ in list(van.collector.messages):
        if topic.endswith("/up/readings"):
            batch = parse_readings(payload, now, topic)
            assert isinstance(batch, ReadingsBatch), batch
            for r in batch.readings:
                found.setdefault((r.probe_id, r.channel, r.time_ms), r)
    return sorted(found.values(), key=lambda r: (r.time_ms, r.probe_id, r.channel))


def wait_until_all_judged(van: Van) -> list[Reading]:
    """After the freeze: every reading the broker carried has been placed by the engine."""
    time.sleep(max(0.0, van.t0 + FREEZE / SPEED + 1.0 - time.time()))
    freeze_ms = van.device_ms(FREEZE)

    def settled() -> list[Reading] | None:
        readings = received(van)
        if not readings or readings[-1].time_ms < freeze_ms - 2 * MIN_S * 1000:
            return None
        location = van.worker.engine.locations.get(van.location)
        if location is None:
            return None
        placed = sum(s.placed for c in location.streams.values() for s in c.values())
        return readings if placed >= len(readings) else None

    try:
        readings = wait_for(settled, timeout=60)
    except AssertionError:
        location = van.worker.engine.locations.get(van.location)
        placed = {
            (p, c): len(s.times)
            for p, cs in (location.streams if location else {}).items()
            for c, s in cs.items()
        }
        got = received(van)
        counts = {
            (p, c): sum(1 for r in got if (r.probe_id, r.channel) == (p, c)) for p, c in placed
        }
        minutes = sorted({(r.time_ms // 1000 - van.start_s) // MIN_S for r in got})
        raise AssertionError(f"placed {placed}, received {counts}, minutes {minutes}") from None
    time.sleep(1.0)  # the batch's commit
    return readings


def engine_record(van: Van, probe_id: str) -> Record:
    [record] = [
        r
        for r in van.worker.engine.records(van.location)
        if r.probe_id == probe_id and r.kind is AlertKind.TEMPERATURE
    ]
    return record


def as_oldest_first(van: Van, readings: list[Reading]) -> Engine:
    """The same readings through a fresh engine of the same place: live ones as they were
    taken, the outage's all at once when the network came back, oldest first."""
    location = van.worker.engine.locations[van.location]
    engine = Engine()
    engine.configure(location.config, readings[0].time_ms, list(location.lots))
    back_ms = van.device_ms(OUTAGE[1]) + 1000
    lost_ms = van.device_ms(OUTAGE[0])
    for reading in readings:
        arrival = reading.time_ms + 1000 if not lost_ms <= reading.time_ms < back_ms else back_ms
        assert not engine.ingest(van.location, [reading], arrival).errors
    return engine


def stored(van: Van, probe_id: str) -> tuple[Alert, dict[str, Any]]:
    """The alert row of a probe's temperature excursion, and its last history entry."""
    with van.site.app.state.sessionmaker() as session:
        alert = session.scalars(
            select(Alert).where(Alert.probe_id == probe_id, Alert.kind == "temperature_excursion")
        ).one()
        last = session.scalars(
            select(AlertEntry).where(AlertEntry.alert_id == alert.id).order_by(AlertEntry.id.desc())
        ).first()
        assert last is not None
        session.expunge_all()
        return alert, dict(last.data)


def ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def check_published_equals_stored(van: Van, probe_id: str) -> Alert:
    record = engine_record(van, probe_id)
    alert, _ = stored(van, probe_id)
    publisher = van.worker.engine.locations[van.location].publisher
    last = publisher.views[publisher.alias[record.alert_id]].last
    assert figures(last) == figures(record_fields(record))  # the last event: the engine's
    assert figures(alert.record) == figures(record_fields(record))  # the row's record too
    assert (ms(alert.start_at), ms(alert.end_at), ms(alert.last_out_at)) == (
        record.start_ms,
        record.end_ms,
        record.last_out_ms,
    )
    assert (ms(alert.alert_at), ms(alert.critical_at)) == (
        record.alert_at_ms,
        record.critical_at_ms,
    )
    assert (alert.peak, alert.n_readings, alert.severity) == (record.peak, record.n, "critical")
    assert ms(alert.detected_at) == last["detected_at_ms"]
    assert alert.detected_late is last["detected_late"]
    return alert


def at_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def alerts(van: Van) -> list[Alert]:
    with van.site.app.state.sessionmaker() as session:
        found = list(session.scalars(select(Alert).order_by(Alert.id)))
        session.expunge_all()
        return found


def notifications(van: Van) -> list[Notification]:
    with van.site.app.state.sessionmaker() as session:
        found = list(session.scalars(select(Notification).order_by(Notification.id)))
        session.expunge_all()
        return found


def first_after_outage(van: Van, probe_id: str) -> list[int]:
    """The device times (scenario minutes) of the first message a probe sent after the
    outage: what its uplink put first."""
    lost_ms = van.device_ms(OUTAGE[0] + 2 * MIN_S)  # (the minute-10 readings went out before)
    for topic, payload, _ in list(van.collector.messages):
        if topic.endswith(f"/{probe_id}/up/readings"):
            batch = parse_readings(payload, clock.now_ms(), topic)
            assert isinstance(batch, ReadingsBatch)
            times = [r.time_ms for r in batch.readings]
            if max(times) >= lost_ms:
                return [(t // 1000 - van.start_s) // MIN_S for t in times]
    raise AssertionError(f"{probe_id} sent nothing after the outage")


def check_late_in_both_orders(van: Van) -> None:
    readings = wait_until_all_judged(van)
    # The firmware's order: its newest readings first; the other probe: oldest first.
    newest_first, oldest_first = (
        first_after_outage(van, PROBE),
        first_after_outage(van, OLDEST_FIRST),
    )
    assert min(newest_first) >= OUTAGE[1] // MIN_S - 15, newest_first
    assert min(oldest_first) <= OUTAGE[0] // MIN_S + 1, oldest_first
    gap_ms = van.worker.engine.locations[van.location].config.gap_ms
    back_ms = van.device_ms(OUTAGE[1])
    for probe_id in (PROBE, OLDEST_FIRST):
        alert = check_published_equals_stored(van, probe_id)
        record = engine_record(van, probe_id)
        assert record.critical_at_ms is not None
        # First known critical when the network came back, long after it turned critical.
        detected = alert.detected_at.timestamp() * 1000
        assert detected >= back_ms - 2000
        assert detected - record.critical_at_ms > gap_ms and alert.detected_late
        api = van.site.world["hygiene_a"].ok("GET", f"/api/v1/alerts/{alert.id}")
        shown = datetime.fromisoformat(api["detected_at"]).astimezone(UTC)
        assert ms(shown) == ms(alert.detected_at) and api["detected_late"] is True
    # The firmware's order and oldest first: the very same excursion, and as late.
    reference = as_oldest_first(van, readings)
    for probe_id in (PROBE, OLDEST_FIRST):
        mine = [engine_record(van, probe_id)]
        theirs = [
            r
            for r in reference.records(van.location)
            if r.probe_id == probe_id and r.kind is AlertKind.TEMPERATURE
        ]
        assert excursion_view(mine) == excursion_view(theirs)
        view = reference.locations[van.location].publisher.views
        [late] = [v.last["detected_late"] for v in view.values() if v.last["probe_id"] == probe_id]
        assert late is True
    firmware_order = van.probes[PROBE].lines
    assert any(line.startswith("EV buzzer 1") for line in firmware_order)  # critical rings


MINCED = [[0, 1.6], [6.5 * MIN_S, 1.6], [7 * MIN_S, 2.3], [12 * MIN_S, 2.3], [45 * MIN_S, 5.5]]


def test_minced_meat_warning_shows_silently_and_the_outage_makes_it_critical_and_late(
    vans: dict[str, Van],
) -> None:
    """Minced meat at 1.6 °C (legal, near its 2 °C limit): nothing. At 2.3 °C a warning at
    once, on the page and the probe's display, without the buzzer and without e-mail. The
    outage hides its rise to 5.5 °C: critical 15 min after crossing 2 °C, learned late."""
    van = vans["minced"]
    # What follows looks while the warning is not critical yet (it turns at scenario minute
    # 22): this test runs first in this file.
    assert time.time() < van.t0 + 20 * MIN_S / SPEED, "the van's scenario is too far on"
    probe = van.probes[PROBE]
    shown = probe.wait_line(lambda line: line.startswith("EV display ALERTE"), timeout=30)
    assert "2,3" in shown or "2,2" in shown or "2,4" in shown
    listed = wait_for(lambda: van.site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["data"])
    assert {a["severity"] for a in listed} == {"warning"}
    sent = notifications(van)
    assert {n.channel for n in sent} == {"probe_alarm"}  # a warning e-mails nobody
    assert all(n.payload["ring"] is False for n in sent)
    probe.wait_line(lambda line: "network lost" in line, timeout=30)
    assert not any(line.startswith("EV buzzer 1") for line in probe.lines)  # silent so far
    check_late_in_both_orders(van)
    record = engine_record(van, PROBE)
    assert record.alert_at_ms is not None and record.critical_at_ms is not None
    # Critical at the first reading 15 min (ours) after crossing 2 °C: about a minute apart,
    # as the simulated board samples (not to the millisecond at this speed).
    assert 15 * MIN_S * 1000 <= record.critical_at_ms - record.alert_at_ms < 16 * MIN_S * 1000
    emails = [n for n in notifications(van) if n.channel == "email"]
    assert emails and all("(critique)" in n.payload["subject"] for n in emails)
    # Sent oldest first, the backlog made it critical 15 min after 2 °C was crossed, known
    # only when the network came back: its e-mail says so. (In the firmware's order the
    # newest readings made it critical first, not late yet; the backlog then moved its
    # critical time back, and the row and the page say late.)
    late_alert, _ = stored(van, OLDEST_FIRST)
    [body] = {n.payload["body"] for n in emails if n.alert_id == late_alert.id}
    assert "Détectée en retard" in body
    # 1.6 °C is legal: nothing was raised or sent before the first reading beyond 2 °C.
    first_beyond = min(engine_record(van, p).start_ms for p in (PROBE, OLDEST_FIRST))
    assert first_beyond >= van.device_ms(7 * MIN_S - 30)
    assert min(at_ms(a.created_at) for a in alerts(van)) >= first_beyond
    assert min(at_ms(n.created_at) for n in notifications(van)) >= first_beyond


FROZEN = [[0, -19.0], [12 * MIN_S, -19.0], [45 * MIN_S, -12.0]]  # near -18 °C, then warming


def test_a_frozen_load_warming_in_an_outage_is_critical_and_late_whatever_the_order(
    vans: dict[str, Van],
) -> None:
    """Quick-frozen at -19 °C (legal, near the -18 °C limit: nothing), warming to -12 °C
    during a 40-minute outage: beyond -15 °C the transport tolerance is exceeded, critical;
    learned when the network came back, so detected late, in the firmware's order too."""
    van = vans["frozen"]
    probe = van.probes[PROBE]
    probe.wait_line(lambda line: "network lost" in line, timeout=30)
    check_late_in_both_orders(van)
    # -19 °C for frozen goods is legal: nothing was raised, rung or sent before the network
    # came back with the readings beyond the limit (times on the same fast clock).
    back = van.device_ms(OUTAGE[1])
    assert min(at_ms(a.created_at) for a in alerts(van)) >= back
    assert min(at_ms(n.created_at) for n in notifications(van)) >= back
    record = engine_record(van, PROBE)
    # Tolerated from -18 °C, critical beyond -15 °C (+3 °C): alerted only then.
    assert record.alert_at_ms is not None and record.alert_at_ms == record.critical_at_ms
    assert record.start_ms < record.alert_at_ms < van.device_ms(OUTAGE[1])


# The vans of this file (`vans`): the extra lot's category, the departure temperature and
# the product's temperatures (scenario second, °C).
CASES = {"minced": ("minced_meat", 1.0, MINCED), "frozen": ("quick_frozen", -20.0, FROZEN)}
