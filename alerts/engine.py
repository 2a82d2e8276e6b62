"""The rules engine: every location of a deployment, bad input kept aside, state saved.

Pure and deterministic: no clock, no I/O. The caller passes the wall clock (`now_ms`) to
each call; readings carry their device time. Nothing here raises on bad readings: they come
back as errors with a reason, are counted, and the last `max_kept` are kept for inspection.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.config import EngineSettings, LocationConfig
from alerts.events import AlertEvent
from alerts.findings import Record
from alerts.limits import Lot, UnknownCategory
from alerts.location import Location, SavedStream
from alerts.profiles import ProductProfile, load_profiles
from alerts.stream import History, HistoryUnavailable

# 2: episodes start beyond the legal limit (docs/alerts.md, "Alert policy"). A state of
# version 1 (episodes from the warning threshold) is still read, its episodes converted.
# 3: saved in parts (the engine's counters, each location, each channel's stream), so that
# a save writes only what changed; a stream keeps its machine's state and its checkpoints,
# restored as they were. Versions 1 and 2 (one document) are still read.
# 4: parts split by how often each changes: a location's configuration and lots, what it
# published, its offline alerts; a stream's newest readings and those sealed before them
# (alerts/stream.py, SEAL_EVERY); a probe's streams saved together with its arrival (one
# row per message). Parts of version 3 are still read (then all saved again).
STATE_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
PART_VERSIONS = (3, 4)  # saved in parts (`restore_parts`)
STREAM_PARTS = {"stream": "ch", "recent": "rw", "checkpoints": "ck"}  # part -> key prefix


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
        history: History | None = None,
    ) -> None:
        """`history`: reads the reading store (the engine does no I/O itself), for late
        readings older than the readings kept in memory (alerts/stream.py). Without it each
        channel keeps the readings of the whole reorder history."""
        self.profiles = dict(profiles) if profiles is not None else load_profiles()
        self.settings = settings or EngineSettings()
        self.history = history
        self.locations: dict[str, Location] = {}
        self.removed: set[str] = set()  # locations removed since the last `changes`
        # Restored from parts of an earlier version: every part is saved again, in today's
        # format, at the next `changes` (the caller replaces the saved parts with them).
        self.upgraded = False
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
                config, self.profiles, self.settings, lots or (), now_ms, self.history
            )
            return []
        return location.reconfigure(config, lots, now_ms)

    def set_lots(self, location_id: str, lots: Sequence[Lot], now_ms: int) -> list[AlertEvent]:
        """The lots of a van zone changed (loaded, dropped, corrected): re-judge from there."""
        location = self._location(location_id)
        self._check(location.config, lots)
        return location.reconfigure(location.config, lots, now_ms)

    def remove(self, location_id: str) -> None:
        if self.locations.pop(location_id, None) is not None:
            self.removed.add(location_id)

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
            except HistoryUnavailable:
                raise  # nothing wrong with the readings: the caller judges them again later
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
        """A JSON-able snapshot of everything, in one document: every part `changes` gives."""
        return {"version": STATE_VERSION, "parts": dict(self._parts(changed_only=False))}

    def changes(self) -> dict[str, dict[str, Any] | None]:
        """The parts of the state changed since the last call, by part key: "meta" (the
        counters), "loc/<location>" (configuration, lots, arrivals then), "pub/<location>"
        (what it published), "off/<location>" (its offline alerts), "pr/<location>/<probe>"
        (when the probe was last heard, and each of its streams' machine and newest
        readings: what changes at each message), "rw/<location>/<probe>/<channel>" (a
        stream's readings after its last checkpoint, but the newest) and
        "ck/<location>/<probe>/<channel>" (its checkpoints and older readings). Version 3
        had "arr/<location>" and "ch/<location>/<probe>/<channel>" instead of "pr/...".
        None: the location is gone, with every part of it (all the keys whose second field is
        that location). Saving them all, in one transaction, keeps a saved state that
        `restore_parts` reads back. After `upgraded`: every part."""
        return dict(self.changed_parts())

    def changed_parts(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """`changes`, part by part: each can be encoded and dropped before the next is made
        (the alert worker's save: fewer objects alive at once for the garbage collector to
        keep, so fewer full collections). Consume it whole, or restore the engine."""
        if self.upgraded:
            self.upgraded = False
            for _ in self._parts(changed_only=True):  # (resets what changed)
                pass
            yield from self._parts(changed_only=False)
        else:
            yield from self._parts(changed_only=True)

    def _parts(self, changed_only: bool) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """Each part says what it is, so that the parts can be read back without their keys
        (`part_key`)."""
        every = not changed_only
        if changed_only:
            for key in self.removed:
                yield f"loc/{key}", None
            self.removed = set()
        for key, location in self.locations.items():
            heard = location.heard
            # (a probe heard with no stream to save its arrival with: saved with the location)
            if location.unsaved or every or not heard.issubset(location.streams):
                yield f"loc/{key}", {"part": "location", "location": key, **location.to_state()}
            publisher = location.publisher
            if publisher.changed or every:
                published = publisher.to_state()
                yield f"pub/{key}", {"part": "published", "location": key, **published}
            if location.offline_unsaved or every:
                offline = location.offline_state()
                yield f"off/{key}", {"part": "offline", "location": key, "offline": offline}
            arrivals = location.arrivals
            if changed_only:
                location.unsaved = location.offline_unsaved = False
                location.heard = set()
                publisher.changed = False
            for probe, channels in location.streams.items():
                if every or probe in heard or any(s.unsaved for s in channels.values()):
                    # (first: a stream's `to_state` may seal readings)
                    live = {channel: stream.to_state() for channel, stream in channels.items()}
                    yield f"pr/{key}/{probe}", {
                        "part": "probe", "location": key, "probe": probe,
                        "arrival": arrivals.get(probe), "streams": live,
                    }  # fmt: skip
                for channel, stream in channels.items():
                    if stream.rw_unsaved or every:
                        yield f"rw/{key}/{probe}/{channel}", {
                            "part": "recent", "location": key, "probe": probe,
                            "channel": channel, "recent": stream.recent_state(),
                        }  # fmt: skip
                    if stream.ck_unsaved or every:
                        yield f"ck/{key}/{probe}/{channel}", {
                            "part": "checkpoints", "location": key, "probe": probe,
                            "channel": channel, "checkpoints": stream.ck_state(),
                        }  # fmt: skip
                    if changed_only:
                        stream.unsaved = stream.rw_unsaved = stream.ck_unsaved = False
        yield "meta", {"part": "meta", "version": STATE_VERSION, "counters": dict(self.counters)}

    def restore(self, state: dict[str, Any], now_ms: int) -> list[AlertEvent]:
        """Load a saved snapshot into this engine; all or nothing.

        Versions 1 and 2: readings are judged again from the oldest checkpoint; the events
        returned are only the differences with what was published before the save (none, if
        nothing changed). Versions 3 and 4 (`save`): restored as it was (`restore_parts`).
        """
        version = state.get("version") if isinstance(state, dict) else None
        if version not in READABLE_VERSIONS:
            raise ConfigError(f"unsupported engine state version {version!r}")
        if version in PART_VERSIONS:
            parts = state.get("parts")
            if not isinstance(parts, dict):
                raise ConfigError("engine state unreadable: no parts")
            return self.restore_parts(parts.values(), now_ms)
        events: list[AlertEvent] = []
        restored: dict[str, Location] = {}
        try:
            for item in state["locations"]:
                location = self._load_location(item, now_ms, events, version == 1, None)
                restored[location.config.location_id] = location
            counters = {str(k): int(v) for k, v in state.get("counters", {}).items()}
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ConfigError(f"engine state unreadable: {type(exc).__name__}: {exc}") from None
        self.locations.update(restored)
        self.counters.update(counters)
        return events

    def restore_parts(self, parts: Iterable[dict[str, Any]], now_ms: int) -> list[AlertEvent]:
        """Load the parts `changes` gave (in any order); all or nothing. Nothing is judged
        again: each stream comes back as it was saved, so there is nothing new to tell.
        Parts of version 3 (a location's published and offline alerts in its own part) are
        read as well; the engine is then `upgraded`."""
        locations: dict[str, dict[str, Any]] = {}
        published: dict[str, dict[str, Any]] = {}
        offline: dict[str, Any] = {}
        arrivals: dict[str, dict[str, Any]] = {}  # (version 3: a part; 4: with the streams)
        silent: list[tuple[str, str]] = []  # probes saved without a stream
        version = None
        live: dict[tuple[str, str, str], dict[str, Any]] = {}
        recent: dict[tuple[str, str, str], dict[str, Any]] = {}
        sealed: dict[tuple[str, str, str], dict[str, Any]] = {}
        counters: dict[str, int] = {}
        restored: dict[str, Location] = {}
        events: list[AlertEvent] = []
        try:
            for part in parts:
                kind = part["part"]
                if kind == "meta":
                    version = part["version"]
                    if version not in PART_VERSIONS:
                        raise ValueError(f"parts of state version {version!r}")
                    counters = {str(k): int(v) for k, v in part["counters"].items()}
                elif kind == "location":
                    locations[str(part["location"])] = part
                elif kind == "published":
                    published[str(part["location"])] = {
                        "views": part["views"], "alias": part["alias"]
                    }  # fmt: skip
                elif kind == "offline":
                    offline[str(part["location"])] = part["offline"]
                elif kind == "arrivals":
                    arrivals.setdefault(str(part["location"]), {}).update(part["arrivals"])
                elif kind == "probe":
                    key, probe = str(part["location"]), str(part["probe"])
                    if part["arrival"] is not None:
                        arrivals.setdefault(key, {})[probe] = part["arrival"]
                    for channel, state in part["streams"].items():
                        live[(key, probe, str(channel))] = state
                    if not part["streams"]:  # heard, nothing placed (too old): kept as it was
                        silent.append((key, probe))
                elif kind in ("stream", "recent", "checkpoints"):
                    name = (str(part["location"]), str(part["probe"]), str(part["channel"]))
                    if kind == "stream":
                        live[name] = part["stream"]
                    elif kind == "recent":
                        recent[name] = part["recent"]
                    else:
                        sealed[name] = part["checkpoints"]
                else:
                    raise ValueError(f"unknown part {kind!r}")
            if version is None:
                raise ValueError("no meta part")
            if set(live) != set(sealed) or (version > 3 and set(live) != set(recent)):
                apart = (set(live) ^ set(sealed)) | (set(live) ^ set(recent))
                raise ValueError(f"streams saved in part: {sorted(apart)}")
            streams: dict[str, list[SavedStream]] = {}
            for name, state in live.items():
                key, probe, channel = name
                saved_stream = (probe, channel, state, recent.get(name), sealed[name])
                streams.setdefault(key, []).append(saved_stream)
            for key, saved in locations.items():
                # (version 4: the arrivals saved with the configuration, then those of the
                # probes heard since, saved with their streams)
                saved = {
                    **saved,
                    "arrivals": {**saved.get("arrivals", {}), **arrivals.get(key, {})},
                }
                if version > 3:  # (version 3: in the location's own part)
                    saved["published"] = published[key]
                    saved["offline"] = offline[key]
                location = self._load_location(saved, now_ms, events, False, streams.get(key, []))
                restored[key] = location
            for key, probe in silent:
                restored[key].streams.setdefault(probe, {})
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ConfigError(f"engine state unreadable: {type(exc).__name__}: {exc}") from None
        self.locations.update(restored)
        self.counters.update(counters)
        if version != STATE_VERSION:
            self.upgraded = True
        return events

    @staticmethod
    def part_key(part: dict[str, Any]) -> str:
        """The key `changes` gave `part` under."""
        kind = part["part"]
        if kind == "location":
            return f"loc/{part['location']}"
        if kind == "published":
            return f"pub/{part['location']}"
        if kind == "offline":
            return f"off/{part['location']}"
        if kind == "arrivals":
            return f"arr/{part['location']}"
        if kind == "probe":
            return f"pr/{part['location']}/{part['probe']}"
        if kind in STREAM_PARTS:
            prefix = STREAM_PARTS[kind]
            return f"{prefix}/{part['location']}/{part['probe']}/{part['channel']}"
        return str(kind)

    def _load_location(
        self,
        item: dict[str, Any],
        now_ms: int,
        events: list[AlertEvent],
        legacy: bool,
        streams: list[SavedStream] | None,
    ) -> Location:
        config = LocationConfig.from_state(item["config"])
        lots = [Lot(a, b, int(c), d, e) for a, b, c, d, e in item["lots"]]
        self._check(config, lots)
        return Location.from_state(
            item,
            config,
            lots,
            self.profiles,
            self.settings,
            now_ms,
            events,
            legacy,
            self.history,
            streams,
        )
