"""What the alert worker needs from the registry, read in one snapshot: where each probe
was installed (by device time), the calibrations, each location's configuration for the
rules engine, and the lots on board each van zone (from the deliveries' handovers).

Attribution and calibration reuse server/domain/place_readings.py (`place_at`, `Calibrations`):
one rule, one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.config import LocationConfig, LocationKind
from alerts.limits import Lot
from coldchain.protocol import Reading
from server.core.models import (
    ColdRoom,
    Installation,
    Probe,
    Van,
    Zone,
)
from server.core.on_board import aboard
from server.domain.installations import place_at
from server.domain.place_readings import Calibrations, from_ms, to_ms


def zone_key(zone_id: int) -> str:
    return f"zone-{zone_id}"


def cold_room_key(cold_room_id: int) -> str:
    return f"cold_room-{cold_room_id}"


def parse_key(key: str) -> tuple[int | None, int | None]:
    """(zone_id, cold_room_id) of a location key."""
    kind, _, number = key.rpartition("-")
    return (int(number), None) if kind == "zone" else (None, int(number))


@dataclass(frozen=True)
class Placed:
    location_key: str
    reading: Reading  # calibrated


class Places:
    """A snapshot of the registry; `Places.load` again to see changes."""

    def __init__(self) -> None:
        self.probe_pk: dict[str, int] = {}
        self.installations: dict[int, list[Installation]] = {}
        self.calibrations: Calibrations | None = None
        self.configs: dict[str, LocationConfig] = {}
        self.lots: dict[str, list[Lot]] = {}
        self.installed_now: dict[str, list[str]] = {}  # location -> probe ids (alarm targets)

    @classmethod
    def load(cls, session: Session, empty_zone_category: str, now_ms: int) -> Places:
        places = cls()
        probes = list(session.scalars(select(Probe)))
        places.probe_pk = {p.probe_id: p.id for p in probes}
        wire = {p.id: p.probe_id for p in probes}
        installed: dict[str, list[str]] = {}
        for inst in session.scalars(select(Installation).order_by(Installation.start)):
            places.installations.setdefault(inst.probe_id, []).append(inst)
            # Only installations in force now: a probe installed from 06:00 is not silent
            # at 05:50 (the silence check counts from when it first appears here).
            started = to_ms(inst.start) <= now_ms
            if started and (inst.end is None or to_ms(inst.end) > now_ms):
                key = _key_of(inst)
                installed.setdefault(key, []).append(wire[inst.probe_id])
        places.installed_now = installed
        places.calibrations = Calibrations(session, [p.id for p in probes])
        for zone, van in session.execute(select(Zone, Van).join(Van, Van.id == Zone.van_id)):
            key = zone_key(zone.id)
            places.configs[key] = LocationConfig(
                key,
                LocationKind.VAN_ZONE,
                f"{van.name} — {zone.name}",
                empty_zone_category,
                probes=tuple(sorted(installed.get(key, []))),
            )
        for room in session.scalars(select(ColdRoom)):
            key = cold_room_key(room.id)
            places.configs[key] = LocationConfig(
                key,
                LocationKind.COLD_ROOM,
                room.name,
                room.category,
                room.label_max_c,  # a label stricter than the category wins (alerts/limits.py)
                probes=tuple(sorted(installed.get(key, []))),
            )
        places.lots = lots_on_board(session)
        return places

    def place(self, reading: Reading) -> Placed | None:
        """The location the probe was at when it measured, and the calibrated reading."""
        pk = self.probe_pk.get(reading.probe_id)
        if pk is None:
            return None
        inst = place_at(self.installations.get(pk, []), from_ms(reading.time_ms))
        if inst is None:
            return None
        assert self.calibrations is not None
        calibrated = self.calibrations.apply(pk, reading)
        return Placed(_key_of(inst), dataclasses.replace(reading, value=calibrated.value))


def _key_of(inst: Installation) -> str:
    if inst.zone_id is not None:
        return zone_key(inst.zone_id)
    assert inst.cold_room_id is not None
    return cold_room_key(inst.cold_room_id)


def lots_on_board(session: Session) -> dict[str, list[Lot]]:
    """Each zone's lots, on board as server/core/on_board.py says."""
    out: dict[str, list[Lot]] = {}
    for each in aboard(session):
        load, on_ms = each.load, to_ms(each.on)
        off_ms = to_ms(each.off) if each.off is not None else None
        if off_ms is not None and off_ms <= on_ms:
            continue  # dropped at the moment it was loaded: never on board
        lot = Lot(str(load.id), load.category, on_ms, off_ms, load.label_max_c)
        out.setdefault(zone_key(load.zone_id), []).append(lot)
    for lots in out.values():
        lots.sort(key=lambda lot: (lot.on_ms, lot.lot_id))
    return out
