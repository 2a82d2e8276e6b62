"""One location (a cold room or a van zone): its configuration, limits, streams and alerts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alerts.config import (
    BadReading,
    EngineSettings,
    LocationConfig,
    LocationKind,
    check_reading,
)
from alerts.events import AlertEvent, EventType, limit_record
from alerts.findings import AlertKind, Record, Severity
from alerts.limits import (
    MINUTE_MS,
    LimitTimeline,
    Lot,
    limit_for_category,
    timeline_for_lots,
)
from alerts.machine import ChannelMachine, Context
from alerts.profiles import ProductProfile
from alerts.publisher import Publisher
from alerts.schedules import Schedule
from alerts.stream import DUPLICATE, TOO_OLD, History, Row, Stream
from alerts.texts import texts
from coldchain.protocol import CHANNELS

# A stream saved apart (state version 3 and later): probe, channel, and what its `to_state`,
# `recent_state` (None in version 3) and `ck_state` gave.
SavedStream = tuple[str, str, dict[str, Any], dict[str, Any] | None, dict[str, Any]]


class Location:
    """Evaluates one location. Readings must already be attributed to it by the caller."""

    def __init__(
        self,
        config: LocationConfig,
        profiles: Mapping[str, ProductProfile],
        settings: EngineSettings,
        lots: Sequence[Lot] = (),
        now_ms: int = 0,
        history: History | None = None,
    ) -> None:
        self.profiles = dict(profiles)
        self.settings = settings
        self.config = config
        self.lots: tuple[Lot, ...] = tuple(lots)
        self.ctx = self._context(config, self._timeline(config, self.lots))
        self.history = history  # the reading store, for replays older than the kept readings
        self.window_ms = kept_window_ms(self.ctx, settings)
        # Changed since the engine's state was last saved, each saved apart as it changes at
        # its own rate: the configuration and lots (rarely), what is published
        # (`publisher.changed`: as alerts open, move on and close), the offline alerts (every
        # minute while a probe is silent), the probes heard (at every message: their
        # arrivals, saved with their streams).
        self.unsaved = True
        self.offline_unsaved = True
        self.heard: set[str] = set()
        self.streams: dict[str, dict[str, Stream]] = {}
        self.publisher = Publisher(settings.update_every_ms, config.gap_ms)
        self.arrivals: dict[str, list[int]] = {p: [now_ms, -(2**62)] for p in config.probes}
        self.offline: dict[str, Record] = {}
        # Doors between messages (check_doors), per probe: the wall clock minus the device
        # time of its newest reading when that arrived, and the device time its open door is
        # presumed open until because nothing has closed it.
        self.clock_offsets: dict[str, int] = {}
        self.doors_presumed: dict[str, int] = {}
        # (id of a limit, max side) -> (that limit, its limit_record): see _limit_record.
        self.limit_records: dict[tuple[int, bool], tuple[Any, dict[str, Any] | None]] = {}

    # --- configuration -------------------------------------------------------------------

    def _timeline(self, config: LocationConfig, lots: Sequence[Lot]) -> LimitTimeline:
        if config.kind is LocationKind.VAN_ZONE:
            return timeline_for_lots(self.profiles, lots, config.category, config.label_max_c)
        if lots:
            raise ValueError("lots are for van zones; a cold room uses its configured category")
        limit = limit_for_category(self.profiles, config.category, config.label_max_c, False)
        return LimitTimeline(limit)

    def _context(self, config: LocationConfig, timeline: LimitTimeline) -> Context:
        return Context(
            location_id=config.location_id,
            timeline=timeline,
            schedule=Schedule(config.windows, config.daily_windows),
            gap_ms=config.gap_ms,
            door_max_ms=int(config.door_open_max_min * MINUTE_MS),
            door_critical_ms=int(config.door_critical_min * MINUTE_MS),
            stuck_ms=self.settings.stuck_ms,
            fault_clearance_ms=self.settings.fault_clearance_ms,
            in_transport=config.kind is LocationKind.VAN_ZONE,
        )

    def reconfigure(
        self, config: LocationConfig, lots: Sequence[Lot] | None, now_ms: int
    ) -> list[AlertEvent]:
        """New configuration or lots: re-judge the retained readings from where it differs."""
        lots = self.lots if lots is None else tuple(lots)
        timeline = self._timeline(config, lots)
        old = self.ctx
        ctx = self._context(config, timeline)
        if config == self.config:
            since = old.timeline.first_difference(timeline)
        else:
            since = -(2**62)
        self.config, self.lots, self.ctx = config, lots, ctx
        self.window_ms = kept_window_ms(ctx, self.settings)
        self.unsaved = True
        self.limit_records.clear()
        self.publisher.late_ms = config.gap_ms
        for probe in config.probes:
            self.arrivals.setdefault(probe, [now_ms, -(2**62)])
        events: list[AlertEvent] = []
        if since is None:
            return events
        for probe_id, channels in self.streams.items():
            for stream in channels.values():
                stream.machine.set_context(ctx)
                if stream.fetch is not None:
                    stream.window_ms = self.window_ms
                start = stream.replay(since)
                if stream.machine.is_door:
                    self._door_known_open(probe_id)
                if start is not None:
                    self._republish(stream, start, now_ms, events)
        return events

    # --- readings ------------------------------------------------------------------------

    def ingest(
        self, readings: Iterable[Any], now_ms: int, errors: list[tuple[str, str, Any]]
    ) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        touched: list[Stream] = []
        seen: dict[str, int] = {}
        streams = self.streams
        last_probe: str | None = None
        channels: dict[str, Stream] = {}
        newest = -(2**62)  # newest device time of last_probe in this batch
        for reading in readings:
            try:  # the common, well-formed case is checked inline; anything else in full
                probe_id, channel, t = reading.probe_id, reading.channel, reading.time_ms
                value, fault, synced = reading.value, reading.fault, reading.clock_synced
                well_formed = (
                    type(value) is float and value - value == 0.0 and fault is None
                    and type(t) is int and type(probe_id) is str and channel in CHANNELS
                )  # fmt: skip
            except AttributeError:
                well_formed = False
            if not well_formed:
                try:
                    probe_id, channel, t, value, fault, synced = check_reading(reading)
                except BadReading as exc:
                    errors.append((exc.reason, str(exc), reading))
                    continue
            if probe_id != last_probe:  # a message usually carries one probe's readings
                if last_probe is not None and newest > seen.get(last_probe, -(2**62)):
                    seen[last_probe] = newest
                last_probe, newest = probe_id, seen.get(probe_id, -(2**62))
                found = streams.get(probe_id)
                channels = streams[probe_id] = {} if found is None else found
            stream = channels.get(channel)
            if stream is None:
                stream = channels[channel] = self._stream(probe_id, channel)
            status = stream.add(t, value, fault, synced)
            if status:
                if status == TOO_OLD:
                    detail = f"{channel} at {t} is older than the reorder history"
                    errors.append(("beyond_reorder_history", detail, reading))
                    continue
                if status != DUPLICATE:
                    touched.append(stream)
            if t > newest:
                newest = t
        if last_probe is not None and newest > seen.get(last_probe, -(2**62)):
            seen[last_probe] = newest
        self.heard.update(seen)
        for probe_id, t in seen.items():
            self._arrived(probe_id, t, now_ms, events)
            door = streams[probe_id].get("door")
            if door is not None and door.machine.door is not None:
                touched.append(door)  # its record may change below
        if not touched:
            return events  # the common case: nothing to replay, nothing to tell
        replayed: dict[int, tuple[Stream, int | None]] = {}
        for stream in touched:  # only the streams whose records changed
            if stream.replay_from is not None and id(stream) not in replayed:
                replayed[id(stream)] = (stream, stream.replay())
        for probe_id in seen:
            self._door_known_open(probe_id)
        for stream, start in replayed.values():
            if start is not None:
                self._republish(stream, start, now_ms, events)
        for stream in touched:
            if id(stream) not in replayed and (stream.machine.dirty or stream.new_closed):
                self._publish(stream, now_ms, events)
        return events

    def _door_known_open(self, probe_id: str) -> Stream | None:
        """Door events come only on change: any later reading of the same probe shows the
        door still open at its device time, and so does the clock (check_doors) while nothing
        arrives. Returns the door stream if its record changed."""
        channels = self.streams.get(probe_id)
        door = None if channels is None else channels.get("door")
        arrival = self.arrivals.get(probe_id)
        if door is None or door.machine.door is None or arrival is None:
            return None
        until = max(arrival[1], self.doors_presumed.get(probe_id, -(2**62)))
        if not door.machine.door_open_until(until):
            return None
        door.unsaved = True
        return door

    def _stream(self, probe_id: str, channel: str) -> Stream:
        machine = ChannelMachine(probe_id, channel, self.ctx)
        history, location_id = self.history, self.config.location_id
        fetch = None
        if history is not None:

            def fetch(start_ms: int, end_ms: int) -> list[Row]:
                return history(location_id, probe_id, channel, start_ms, end_ms)

        settings = self.settings
        return Stream(
            machine, settings.history_ms, settings.checkpoint_every_ms, self.window_ms, fetch
        )

    def _make(
        self,
        event_type: EventType,
        record: Record,
        alert_id: str,
        fields: dict[str, Any],
        detected_ms: int,
        late: bool,
    ) -> AlertEvent:
        """An event of `record` published as `alert_id` (`fields`: its `record_fields`)."""
        config = self.config
        text_fr, text_en = texts(record, config.name, self.profiles)
        fields["alert_id"] = alert_id
        return AlertEvent(
            event=event_type,
            **fields,
            location_id=config.location_id,
            location_kind=config.kind.value,
            location_name=config.name,
            interval_s=config.interval_s,
            limit=self._limit_record(record),
            lot_ids=tuple(lot.lot_id for lot in self.lots if _overlaps(lot, record)),
            detected_at_ms=detected_ms,
            detected_late=late,
            text_fr=text_fr,
            text_en=text_en,
        )

    def _limit_record(self, record: Record) -> dict[str, Any] | None:
        """`limit_record`, made once per limit and side (an open alert publishes often)."""
        limit = record.limit
        if limit is None:
            return None
        key = (id(limit), record.side >= 0)
        found = self.limit_records.get(key)
        if found is None or found[0] is not limit:
            found = self.limit_records[key] = (
                limit,
                limit_record(limit, record.side, self.profiles),
            )
        return found[1]

    def _publish(self, stream: Stream, now_ms: int, events: list[AlertEvent]) -> None:
        machine = stream.machine
        machine.dirty = False
        make = self._make
        publisher = self.publisher
        for closed in stream.new_closed:
            publisher.publish(closed, make, events, now_ms)
        stream.new_closed = []
        for record in machine.records():
            if record is not None and record.severity is not None:
                publisher.publish(record, make, events, now_ms)

    def _republish(self, stream: Stream, start: int, now_ms: int, events: list[AlertEvent]) -> None:
        machine = stream.machine
        machine.dirty = False
        previous = self.publisher.span(machine.probe_id, machine.channel, start)
        alias = self.publisher.alias
        records = [
            r
            for r in stream.records()
            if (r.resolved_at_ms or 2**62) > start or alias.get(r.alert_id) in previous
        ]
        self.publisher.republish(records, previous, self._make, now_ms, events)

    # --- silence -------------------------------------------------------------------------

    def _arrived(self, probe_id: str, t: int, now_ms: int, events: list[AlertEvent]) -> None:
        arrival = self.arrivals.get(probe_id)
        if arrival is None:
            self.arrivals[probe_id] = [now_ms, t]
            self.clock_offsets[probe_id] = now_ms - t
        else:
            if now_ms > arrival[0]:
                arrival[0] = now_ms
            if t > arrival[1]:
                arrival[1] = t
                self.clock_offsets[probe_id] = now_ms - t
        if not self.offline:
            return
        record = self.offline.pop(probe_id, None)
        if record is not None:
            self.offline_unsaved = True
            record.close(now_ms)
            self.publisher.publish(record, self._make, events, now_ms)

    def check_silence(self, now_ms: int) -> list[AlertEvent]:
        """Probes that sent nothing for max(3 x interval, 10 min) (wall clock): offline alerts."""
        events: list[AlertEvent] = []
        gap_ms = self.config.gap_ms
        for probe_id, (arrival_ms, last_t) in self.arrivals.items():
            silent_ms = now_ms - arrival_ms
            if silent_ms <= gap_ms:
                continue
            record = self.offline.get(probe_id)
            if record is None:
                start = last_t if last_t > -(2**62) else arrival_ms
                record = self.offline[probe_id] = Record(
                    AlertKind.PROBE_OFFLINE, probe_id, "*", start
                )
                record.raise_to(Severity.WARNING, now_ms)
            record.last_out_ms = now_ms
            if silent_ms > self.settings.offline_critical_ms:
                record.raise_to(Severity.CRITICAL, now_ms)
            self.publisher.publish(record, self._make, events, now_ms)
        # Closed alerts older than every channel's oldest checkpoint can never be replayed.
        oldest = min((s.oldest_placeable_t for c in self.streams.values() for s in c.values()),
                     default=None)  # fmt: skip
        if oldest is not None:
            self.publisher.forget_before(oldest)
        if self.offline:
            self.offline_unsaved = True  # their figures move on with the clock
        return events

    # --- doors between messages ------------------------------------------------------------

    def check_doors(self, now_ms: int) -> list[AlertEvent]:
        """Doors opened and not closed while nothing arrives (wall clock): door events come
        only on change, so an open door is still open at the device time the probe's clock
        shows now, its newest reading's device time plus the wall time since that arrived.
        The door alert is raised at its delay with no further message, with the figures a
        reading of the probe at that device time would give; a close event arriving later
        corrects it (withdrawn if the door was shut in time) as it does for readings."""
        events: list[AlertEvent] = []
        presumed_until = self.doors_presumed
        for probe_id, channels in self.streams.items():
            door = channels.get("door")
            if door is None or door.machine.door is None:
                presumed_until.pop(probe_id, None)  # shut (or never opened): nothing to presume
                continue
            offset = self.clock_offsets.get(probe_id)
            if offset is None:
                continue
            presumed = now_ms - offset
            if presumed <= presumed_until.get(probe_id, -(2**62)):
                continue  # never backwards: a slower message does not shorten what was told
            presumed_until[probe_id] = presumed
            if door.machine.door_open_until(presumed):
                door.unsaved = True  # (what it publishes: `publisher.changed`)
                self._publish(door, now_ms, events)
        return events

    # --- save / restore --------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-able: the configuration and lots, and the arrivals as they were then (those of
        probes heard since are saved with their streams). What the location holds besides,
        each saved apart (alerts/engine.py, `Engine.changes`): what is published
        (`publisher.to_state`), the offline alerts (`offline_state`), its streams."""
        return {
            "config": self.config.to_state(),
            "lots": [[x.lot_id, x.category, x.on_ms, x.off_ms, x.label_max_c] for x in self.lots],
            **self.arrivals_state(),
        }

    def offline_state(self) -> dict[str, Any]:
        return {p: r.to_state() for p, r in self.offline.items()}

    def arrivals_state(self) -> dict[str, Any]:
        """What changes at every reading: when each probe was last heard, and its newest
        device time."""
        return {"arrivals": {p: list(a) for p, a in self.arrivals.items()}}

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        config: LocationConfig,
        lots: Sequence[Lot],
        profiles: Mapping[str, ProductProfile],
        settings: EngineSettings,
        now_ms: int,
        events: list[AlertEvent],
        legacy: bool = False,
        history: History | None = None,
        streams: Iterable[SavedStream] | None = None,
    ) -> Location:
        """Rebuild a saved location; `events` gets what differs from what was published.
        `streams`: its streams, saved apart (state versions 3 and 4: `SavedStream`):
        restored exactly, nothing is judged again. None: they are in `state`
        (versions 1 and 2: each oldest checkpoint and the readings after it, judged again).
        `legacy`: version 1 (alerts/engine.py)."""
        location = cls(config, profiles, settings, lots, now_ms, history)
        location.publisher.load_state(state["published"])
        location.arrivals = {p: [int(a), int(b)] for p, (a, b) in state["arrivals"].items()}
        location.offline = {p: Record.from_state(r, None) for p, r in state["offline"].items()}
        # What check_doors keeps, found again without saving it (the format is unchanged):
        # each probe's clock from its last arrival, and the device time each open door was
        # last told open until (its open door alert's last time), so that no replay below
        # lowers a door alert the clock raised.
        location.clock_offsets = {
            p: a - t for p, (a, t) in location.arrivals.items() if t > -(2**62)
        }
        for view in location.publisher.views.values():
            last = view.last
            if last["kind"] == AlertKind.DOOR_OPEN.value and last["status"] == "open":
                probe, until = str(last["probe_id"]), int(last["last_out_ms"])
                if until > location.doors_presumed.get(probe, -(2**62)):
                    location.doors_presumed[probe] = until
        if streams is not None:
            for probe, channel, stream_state, recent, ck_state in streams:
                stream = location._add_stream(probe, channel)
                stream.load_state(stream_state, ck_state, recent)
            location.unsaved = location.offline_unsaved = False
            location.heard = set()
            location.publisher.changed = False
            return location
        for probe, channel, stream_state in state["streams"]:
            stream = location._add_stream(probe, channel)
            stream.load_legacy_state(stream_state, legacy)
            if channel == "door":
                location._door_known_open(probe)
            location._republish(stream, int(stream_state["ck_t"]), now_ms, events)
        return location

    def _add_stream(self, probe_id: str, channel: str) -> Stream:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r} in saved state")
        stream = self.streams.setdefault(probe_id, {})[channel] = self._stream(probe_id, channel)
        return stream

    def open_alerts(self) -> list[dict[str, Any]]:
        return [v.last for v in self.publisher.views.values() if v.last["status"] == "open"]

    def records(self) -> list[Record]:
        """Every retained alertable record of every channel (tests, exports)."""
        found = [r for c in self.streams.values() for s in c.values() for r in s.records()]
        return sorted(found, key=lambda r: (r.start_ms, r.probe_id, r.channel, r.kind.value))


def kept_window_ms(ctx: Context, settings: EngineSettings) -> int:
    """How far back a channel keeps its raw readings when the reading store can give the
    older ones: the longest delay a rule of this location judges over a span of readings
    (critical delay, transport tolerance, clearance; the door's critical delay; a fault's
    clearance; the data gap), plus the checkpoint spacing, so that a reading late by less
    than that replays from memory. The stuck-value check (3 h) needs no readings: its value
    and since-when are in the machine's state."""
    longest_min = max(
        max(lim.critical_delay_min, lim.tolerance_min or 0.0, lim.choices.clearance_min)
        for lim in ctx.timeline.limits
    )
    longest = max(
        int(longest_min * MINUTE_MS),
        ctx.door_critical_ms,
        ctx.fault_clearance_ms,
        ctx.gap_ms,
    )
    return longest + settings.checkpoint_every_ms


def _overlaps(lot: Lot, record: Record) -> bool:
    end = record.end_ms if record.end_ms is not None else record.last_out_ms
    return lot.on_ms <= end and (lot.off_ms is None or record.start_ms < lot.off_ms)
