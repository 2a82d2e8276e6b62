"""Where readings are judged and with which settings: location configuration, engine
settings, and the check every reading passes before it reaches a machine."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from alerts.limits import MINUTE_MS
from alerts.schedules import DailyWindow, Schedule, Window
from coldchain.protocol import CHANNELS


class LocationKind(StrEnum):
    COLD_ROOM = "cold_room"
    VAN_ZONE = "van_zone"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Engine-wide choices (ours; docs/alerts.md explains each)."""

    # Reorder history: late readings placed up to this far back (a checkpoint every half hour;
    # the raw readings themselves only for alerts.location.kept_window_ms when the engine
    # has a `history` to read the older ones from the store).
    history_ms: int = 6 * 3_600_000
    checkpoint_every_ms: int = 30 * MINUTE_MS  # a late reading replays at most this much
    update_every_ms: int = 15 * MINUTE_MS  # progress update of an open alert
    stuck_ms: int = 3 * 3_600_000  # the exact same value this long: the sensor is stuck
    fault_clearance_ms: int = 10 * MINUTE_MS
    offline_critical_ms: int = 60 * MINUTE_MS  # silent this long: no monitoring of the CCP


@dataclass(frozen=True, slots=True)
class LocationConfig:
    location_id: str
    kind: LocationKind
    name: str  # shown to people: "Camionnette 2 — zone froide", "Chambre froide Ferme du Pont"
    category: str  # a cold room's category; a van zone's own setting when nothing is on board
    label_max_c: float | None = None
    interval_s: int = 60  # the probes' recording interval
    door_open_max_min: float = 5.0  # ours: a delivery stop needs the door open a few minutes
    door_critical_min: float = 20.0  # ours
    windows: tuple[Window, ...] = ()
    daily_windows: tuple[DailyWindow, ...] = ()
    probes: tuple[str, ...] = ()  # installed probes: silence is noticed even before a reading
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # ignored by the engine

    @property
    def gap_ms(self) -> int:
        """No reading for max(3 x interval, 10 min): a data gap, and live, a silent probe."""
        return max(3 * self.interval_s * 1000, 10 * MINUTE_MS)

    def to_state(self) -> dict[str, Any]:
        return {
            "location_id": self.location_id,
            "kind": self.kind.value,
            "name": self.name,
            "category": self.category,
            "label_max_c": self.label_max_c,
            "interval_s": self.interval_s,
            "door_open_max_min": self.door_open_max_min,
            "door_critical_min": self.door_critical_min,
            "schedule": Schedule(self.windows, self.daily_windows).to_state(),
            "probes": list(self.probes),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LocationConfig:
        schedule = Schedule.from_state(state["schedule"])
        return cls(
            state["location_id"],
            LocationKind(state["kind"]),
            state["name"],
            state["category"],
            state["label_max_c"],
            int(state["interval_s"]),
            float(state["door_open_max_min"]),
            float(state["door_critical_min"]),
            schedule.windows,
            schedule.daily,
            tuple(state["probes"]),
        )


class BadReading(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def check_reading(reading: Any) -> tuple[str, str, int, float | None, str | None, bool]:
    """The fields the engine needs, or BadReading naming what is wrong."""
    try:
        probe_id, channel, t = reading.probe_id, reading.channel, reading.time_ms
        value, fault, synced = reading.value, reading.fault, reading.clock_synced
    except AttributeError as exc:
        raise BadReading("malformed_reading", f"not a reading: {exc}") from None
    if not isinstance(probe_id, str) or not probe_id:
        raise BadReading("malformed_reading", "probe_id must be a non-empty string")
    if channel not in CHANNELS:
        raise BadReading("unknown_channel", f"unknown channel {str(channel)[:32]!r}")
    if isinstance(t, bool) or not isinstance(t, int):
        raise BadReading("malformed_reading", "time_ms must be integer milliseconds")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadReading("malformed_reading", "value must be a number")
        if not math.isfinite(value):
            raise BadReading("non_finite_value", f"value {value!r} is not finite")
        value = float(value)
    elif fault is None:
        raise BadReading("malformed_reading", "a reading needs a value or a fault code")
    if fault is not None and not isinstance(fault, str):
        raise BadReading("malformed_reading", "fault must be a string")
    return probe_id, channel, t, value, fault, bool(synced)
