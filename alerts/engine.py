"""The rules engine: every location of a deployment, bad input kept aside, state saved.

Pure and deterministic: no clock, no I/O. The caller passes the wall clock (`now_ms`) to
each call; readings carry their device time. Nothing here raises on bad readings: they come
back as errors with a reason, are counted, and the last `max_kept` are kept for inspection.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.config import EngineSettings, LocationConfig
from alerts.events import AlertEvent
from alerts.findings import Record
from alerts.limits import Lot, UnknownCategory
from alerts.location import Location
from alerts.profiles import ProductProfile, load_profiles

# 2: episodes start beyond the legal limit (docs/alerts.md, "Alert policy"). A state of
# version 1 (episodes from the warning threshold) is still read, its episodes converted.
STATE_VERSION = 2
READABLE_VERSIONS = (1, 2)


class ConfigError(ValueError):
    """A location or lot configuration the engine cannot use (the engine is left unchanged)."""


@dataclass(frozen=True, slots=True)
class IngestError:
    reason: str  # malformed_reading, unknown_channel, non_finite_value, unknown_location, ...
    detail: str
    location_id: str
    item: Any  # the rejected reading itself, kept for inspection


@dataclass(slots=True)
class IngestResult:
    events: list[AlertEvent] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        profiles: Mapping[str, ProductProfile] | None = None,
        settings: EngineSettings | None = None,
        max_kept: int = 1000,
    ) -> None:
        self.profiles = dict(profiles) if profiles is not None else load_profiles()
        self.settings = settings or EngineSettings()
        self.locations: dict[str, Location] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.rejected: collections.deque[IngestError] = collections.deque(maxlen=max_kept)

    # --- configuration -------------------------------------------------------------------

    def configure(
        self, config: LocationConfig, now_ms: int, lots: Sequence[Lot] | None = None
    ) -> list[AlertEvent]:
        """Add a location, or change one (its retained readings are judged again)."""
        self._check(config, lots or ())
        location = self.locations.get(config.location_id)
        if location is None:
            self.locations[config.location_id] = Location(
                config, self.profiles, self.settings, lots or (), now_ms
            )
            return []
        return location.reconfigure(config, lots, now_ms)

    def set_lots(self, location_id: str, lots: Sequence[Lot], now_ms: int) -> list[AlertEvent]:
        """The lots of a van zone changed (loaded, dropped, corrected): re-judge from there."""
        location = self._location(location_id)
        self._check(location.config, lots)
        return location.reconfigure(location.config, lots, now_ms)

    def remove(self, location_id: str) -> None:
        self.locations.pop(location_id, None)

    def _location(self, location_id: str) -> Location:
        try:
            return self.locations[location_id]
        except KeyError:
            raise ConfigError(f"unknown location {location_id!r}") from None

    def _check(self, config: LocationConfig, lots: Sequence[Lot]) -> None:
        """Refuse a configuration before it touches any state."""
        for code in [config.category, *(lot.category for lot in lots)]:
            if code not in self.profiles:
                raise ConfigError(f"unknown product category {code!r}")
        if config.interval_s <= 0 or config.door_open_max_min <= 0:
            raise ConfigError("interval_s and door_open_max_min must be positive")
        for lot in lots:
            if lot.off_ms is not None and lot.off_ms <= lot.on_ms:
                raise ConfigError(f"lot {lot.lot_id!r} leaves before it is loaded")
        if lots and config.kind.value != "van_zone":
            raise ConfigError("lots are for van zones; a cold room uses its category")
        try:
            Location(config, self.profiles, self.settings, lots)
        except (UnknownCategory, ValueError) as exc:
            raise ConfigError(str(exc)) from None

    # --- readings ------------------------------------------------------------------------

    def ingest(self, location_id: str, readings: Iterable[Any], now_ms: int) -> IngestResult:
        """Judge readings attributed to `location_id`. Never raises on bad input."""
        result = IngestResult()
        location = self.locations.get(location_id)
        raw: list[tuple[str, str, Any]] = []
        items: Sequence[Any]
        if location is None:
            items = list(readings)
            raw = [("unknown_location", f"no location {location_id!r}", r) for r in items]
        else:
            items = readings if isinstance(readings, list) else list(readings)
            try:
                result.events = location.ingest(items, now_ms, raw)
            except Exception as exc:
                # Broad on purpose: a bug in one location must not take every other location
                # down. Its readings become `internal_error` errors, counted and kept aside
                # with the exception's text (the engine does no I/O; the alert worker logs
                # them).
                raw = [("internal_error", f"{type(exc).__name__}: {exc}", r) for r in items]
        for reason, detail, item in raw:
            error = IngestError(reason, detail, location_id, item)
            result.errors.append(error)
            self.rejected.append(error)
            self.counters[reason] += 1
        self.counters["readings"] += len(items) - len(raw)
        return result

    def check_silence(self, now_ms: int) -> list[AlertEvent]:
        """Call every minute or so with the wall clock: offline probes, housekeeping."""
        events: list[AlertEvent] = []
        for location in self.locations.values():
            events.extend(location.check_silence(now_ms))
        return events

    def check_doors(self, now_ms: int) -> list[AlertEvent]:
        """Call with check_silence: doors left open while nothing arrives reach their alert
        delay on the wall clock (docs/alerts.md, "Other alert kinds")."""
        events: list[AlertEvent] = []
        for location in self.locations.values():
            events.extend(location.check_doors(now_ms))
        return events

    def records(self, location_id: str) -> list[Record]:
        return self._location(location_id).records()

    def open_alerts(self) -> list[dict[str, Any]]:
        return [a for loc in self.locations.values() for a in loc.open_alerts()]

    # --- save / restore ------------------------------------------------------------------

    def save(self) -> dict[str, Any]:
        """A JSON-able snapshot: configuration, retained readings, published alerts."""
        return {
            "version": STATE_VERSION,
            "locations": [loc.to_state() for loc in self.locations.values()],
            "counters": dict(self.counters),
        }

    def restore(self, state: dict[str, Any], now_ms: int) -> list[AlertEvent]:
        """Load a saved snapshot into this engine; all or nothing.

        Readings are judged again from the oldest checkpoint; the events returned are only
        the differences with what was published before the save (none, if nothing changed).
        """
        version = state.get("version") if isinstance(state, dict) else None
        if version not in READABLE_VERSIONS:
            raise ConfigError(f"unsupported engine state version {version!r}")
        events: list[AlertEvent] = []
        restored: dict[str, Location] = {}
        try:
            for item in state["locations"]:
                config = LocationConfig.from_state(item["config"])
                lots = [Lot(a, b, int(c), d, e) for a, b, c, d, e in item["lots"]]
                self._check(config, lots)
                location = Location.from_state(
                    item, config, lots, self.profiles, self.settings, now_ms, events, version == 1
                )
                restored[config.location_id] = location
            counters = {str(k): int(v) for k, v in state.get("counters", {}).items()}
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ConfigError(f"engine state unreadable: {type(exc).__name__}: {exc}") from None
        self.locations.update(restored)
        self.counters.update(counters)
        return events
