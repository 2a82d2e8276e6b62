"""The demo's scripted day, judged by the real rules engine without any process: it must show
exactly one alert per scenario (coldchain/demo/day.py, EXPECTED_ALERTS), and nothing else.

The full demo, with the firmware, the broker, the gateway, the worker and the server, is
tests/coldchain/test_demo.py; this one says quickly whether the script itself is right."""

from __future__ import annotations

from typing import Any

from alerts.config import LocationConfig, LocationKind
from alerts.engine import Engine
from alerts.limits import Lot
from coldchain.demo import day
from coldchain.protocol import Reading

T0 = 1_780_000_000_000  # the day's start, UTC ms
MIN = 60_000


def at(minutes: float) -> int:
    return T0 + int(minutes * MIN)


def readings_of(probe: day.ProbeScript) -> list[tuple[int, Reading]]:
    """(arrival ms, reading): every minute, the door on change; a dead zone delays arrival."""
    out: list[tuple[int, Reading]] = []
    seq = 0
    for m in range(day.DAY_MIN + 1):
        s = m * 60
        seq += 1
        reading = Reading(probe.probe_id, probe.channel, at(m), seq, day.value_at(probe.series, s))
        arrival = at(m)
        for a, b in probe.offline:
            if a <= s < b:
                arrival = T0 + b * 1000
        out.append((arrival, reading))
    for s, state in probe.door:
        seq += 1
        out.append((T0 + s * 1000, Reading(probe.probe_id, "door", T0 + s * 1000, seq, state)))
    return out


def lots_by_zone() -> dict[str, list[Lot]]:
    found: dict[str, list[Lot]] = {}
    for delivery in day.DELIVERIES:
        stops = {stop.key: stop for stop in delivery.stops}
        for load in delivery.loads:
            lot = Lot(
                load.lot, load.category, at(stops[load.pickup].at_min), at(stops[load.drop].at_min)
            )
            found.setdefault(load.zone, []).append(lot)
    return found


def judge_the_day() -> dict[str, dict[str, Any]]:
    engine = Engine()
    producers = {p.key: p for p in day.PRODUCERS}
    lots = lots_by_zone()
    for probe in day.PROBES:
        if probe.place in producers:
            config = LocationConfig(
                probe.place,
                LocationKind.COLD_ROOM,
                producers[probe.place].cold_room,
                producers[probe.place].category,
                probes=(probe.probe_id,),
            )
            engine.configure(config, T0)
        else:
            config = LocationConfig(
                probe.place, LocationKind.VAN_ZONE, probe.place, "ambient", probes=(probe.probe_id,)
            )
            engine.configure(config, T0, lots.get(probe.place, []))
    arrivals = sorted(
        (
            (arrival, r.time_ms, probe.place, r)
            for probe in day.PROBES
            for arrival, r in readings_of(probe)
        ),
        key=lambda item: item[:3],
    )
    alerts: dict[str, dict[str, Any]] = {}
    next_silence = T0
    for arrival, _, place, reading in arrivals:
        events = engine.ingest(place, [reading], arrival + 2_000).events
        if arrival >= next_silence:
            events += engine.check_silence(arrival + 2_000)
            next_silence = arrival + MIN
        for event in events:
            late = alerts.get(event.alert_id, {}).get("detected_late", False)
            alerts[event.alert_id] = event.to_dict()
            # Once revealed late, an alert stays so (judged on when it was first known critical).
            alerts[event.alert_id]["detected_late"] |= late
    return alerts


def test_the_day_shows_one_alert_per_scenario_and_nothing_else() -> None:
    alerts = judge_the_day()
    seen = sorted((a["location_id"], a["kind"], a["severity"]) for a in alerts.values())
    assert seen == sorted(day.EXPECTED_ALERTS)
    by = {(a["location_id"], a["kind"], a["severity"]): a for a in alerts.values()}

    door = by[("V1_froid", "door_open", "warning")]
    assert door["status"] == "closed"  # shut again after 8 minutes

    minced = by[("V1_froid", "temperature_excursion", "critical")]
    assert minced["limit"]["max_c"] == 2.0 and "HACHE-0611" in minced["lot_ids"]
    assert minced["end_ms"] is not None and minced["end_ms"] >= at(170)  # over once dropped

    backlog = by[("V2_froid", "temperature_excursion", "critical")]
    assert backlog["detected_late"] and backlog["status"] == "closed"

    # -16.5 °C for eight minutes in transport: within the +3 °C tolerance, no alert (the
    # load's sealed record states the tolerance used).
    assert not [a for a in alerts.values() if a["location_id"] == "V1_surgele"]

    compressor = by[("P2", "temperature_excursion", "critical")]
    assert not compressor["detected_late"]
    assert sum(a["detected_late"] for a in alerts.values()) == 1
