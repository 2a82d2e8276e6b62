"""What has been told to people, and the events that bring them up to date.

The machines only keep records; the publisher compares each record with what was last
published under its alert id and emits opened / escalated / updated / resolved, and
`refreshed` when only figures changed: the last event of an alert always carries the
record's figures, whatever the arrival order (published equals stored). After a replay
(late data, a lot dropped, a restart) it matches the new records to the published ones by
overlap, so an alert keeps its id, and withdraws what the new data no longer shows.

It also knows when each alert was detected: the arrival time (`now_ms`) of the readings with
which the engine first knew it critical, for a critical one (for the others: first knew it
at all). An alert is detected late when that is more than the data-gap threshold after the
device time it became critical (`critical_at_ms`; `alert_at_ms` if it is not critical).
Both are facts about what arrived when, so a replay that only moves device times re-judges
the lateness but never the detection time. An alert held critical on partial data (the
newest readings of a backlog) and then lowered by the rest is detected again when it
turns critical again: it was not known critical meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from alerts.events import AlertEvent, EventType, figures, record_fields, record_figures
from alerts.findings import RANK, AlertKind, Record, Severity

# (event type, record, published alert id, its fields, detected at, detected late) -> event
MakeEvent = Callable[[EventType, Record, str, dict[str, Any], int, bool], AlertEvent]


class View:
    """The last published state of one alert: the last event sent (kept as the event, made a
    JSON-able dict only when needed: save, withdraw, callers) and what the publisher compares
    with the record next time."""

    __slots__ = (
        "_last",
        "critical_known_ms",
        "event",
        "figures",
        "known_ms",
        "reported_last_out",
        "side",
        "signature",
    )

    def __init__(
        self,
        signature: tuple[Any, ...],
        reported_last_out: int,
        side: int,
        sent: AlertEvent | dict[str, Any],
        sent_figures: tuple[Any, ...] | None = None,
        known: tuple[int, int | None] | None = None,
    ) -> None:
        """`sent`: the last event, or its dict (a saved state); `sent_figures`: its
        `figures` when known already; `known`: when the alert was first published, and
        first published critical (None: not critical now); from the event if not given."""
        self.signature = signature
        self.reported_last_out = reported_last_out
        self.side = side
        self.event = sent if isinstance(sent, AlertEvent) else None
        self._last = sent if isinstance(sent, dict) else None
        if sent_figures is None:
            sent_figures = figures(self.last)
        self.figures = sent_figures
        if known is None:  # a state saved before these were kept: its detection time
            detected = int(self.value("detected_at_ms"))
            critical = self.value("severity") == Severity.CRITICAL
            known = (detected, detected if critical else None)
        self.known_ms, self.critical_known_ms = known

    @property
    def last(self) -> dict[str, Any]:
        """The last event sent, as a dict, with the record's `limit_side`."""
        if self._last is None:
            assert self.event is not None
            self._last = self.event.to_dict()
            self._last["limit_side"] = self.side
        return self._last

    def value(self, name: str) -> Any:
        """One field of the last event (an enum where the dict has its value)."""
        if self.event is not None:
            return getattr(self.event, name)
        return self.last[name]

    @property
    def end_ms(self) -> int | None:
        end: int | None = self.value("end_ms")
        return end

    @property
    def resolved_at_ms(self) -> int | None:
        """The reading that showed it was over (its end for older saved views)."""
        resolved: int | None = self.value("resolved_at_ms") or self.end_ms
        return resolved

    def overlaps(self, record: Record) -> bool:
        value = self.value
        if (value("kind"), value("probe_id"), value("channel")) != (
            record.kind.value,
            record.probe_id,
            record.channel,
        ):
            return False
        if record.detail != value("detail") or (record.side >= 0) != (self.side >= 0):
            return False
        end = self.end_ms
        return record.start_ms <= (end if end is not None else 2**62) and value("start_ms") <= (
            record.end_ms if record.end_ms is not None else 2**62
        )


def detected_late(record: Record, detected_ms: int, late_ms: int) -> bool:
    """Learned more than `late_ms` after the device time it became critical (or, not
    critical, after its alert condition was met). A silent probe is judged on the wall
    clock: never late."""
    if record.kind is AlertKind.PROBE_OFFLINE:
        return False
    due = record.critical_at_ms if record.severity is Severity.CRITICAL else record.alert_at_ms
    return due is not None and detected_ms - due > late_ms


class Publisher:
    """Published alerts, keyed by alert id.

    A record's own id is natural (kind, probe, channel, side or detail, start); late data can
    move its start, so the publisher keeps which published alert each natural id stands for
    (`alias`, one to one with `owner`), and an alert keeps its id through every replay.
    `late_ms`: the data-gap threshold of the location, beyond which an alert is late.
    """

    __slots__ = ("alias", "changed", "late_ms", "owner", "update_every_ms", "views")

    def __init__(self, update_every_ms: int, late_ms: int) -> None:
        self.update_every_ms = update_every_ms
        self.late_ms = late_ms
        self.changed = True  # since the engine's state was last saved (the engine resets it)
        self.views: dict[str, View] = {}
        self.alias: dict[str, str] = {}  # natural id -> published alert id
        self.owner: dict[str, str] = {}  # published alert id -> natural id

    def _bind(self, natural: str, alert_id: str) -> None:
        self.changed = True
        previous_owner = self.owner.get(alert_id)
        if previous_owner is not None:
            self.alias.pop(previous_owner, None)
        previous_alias = self.alias.get(natural)
        if previous_alias is not None:
            self.owner.pop(previous_alias, None)
        self.alias[natural] = alert_id
        self.owner[alert_id] = natural

    def _id_for(self, natural: str) -> str:
        alert_id = self.alias.get(natural)
        if alert_id is None:
            alert_id, n = natural, 1
            while alert_id in self.owner or alert_id in self.views:
                n += 1
                alert_id = f"{natural}#{n}"
            self._bind(natural, alert_id)
        return alert_id

    def publish(self, record: Record, make: MakeEvent, out: list[AlertEvent], now_ms: int) -> None:
        if record.severity is None:  # no longer alertable (a door close event arrived late)
            stale = self.alias.get(record.alert_id)
            if stale is not None and stale in self.views:
                self.withdraw(stale, out, now_ms)
            return
        alert_id = self._id_for(record.alert_id)
        view = self.views.get(alert_id)
        signature = record.signature()
        sent_figures = record_figures(record)
        severity = record.severity
        critical = severity is Severity.CRITICAL
        if view is None:
            known, critical_known = now_ms, now_ms if critical else None
            types = [EventType.OPENED]
            if record.closed:
                types.append(EventType.RESOLVED)
        else:
            rose = RANK[severity] > RANK[Severity(view.value("severity"))]
            known, critical_known = view.known_ms, view.critical_known_ms
            if not critical:
                critical_known = None  # no longer known critical: detected again if it is
            elif critical_known is None:
                critical_known = now_ms
            detected = known if critical_known is None else critical_known
            types = []
            if rose:
                types.append(EventType.ESCALATED)
            if record.closed and view.value("status") != "closed":
                types.append(EventType.RESOLVED)
            if not types:
                progressed = record.last_out_ms - view.reported_last_out >= self.update_every_ms
                if signature != view.signature or progressed:
                    types.append(EventType.UPDATED)
                elif (
                    sent_figures != view.figures
                    or detected != view.value("detected_at_ms")
                    or detected_late(record, detected, self.late_ms)
                    != bool(view.value("detected_late"))
                ):
                    types.append(EventType.REFRESHED)  # figures only: nothing to tell
                else:
                    return
        detected = known if critical_known is None else critical_known
        late = detected_late(record, detected, self.late_ms)
        fields = record_fields(record)
        event = None
        for event_type in types:
            event = make(event_type, record, alert_id, fields, detected, late)
            out.append(event)
        assert event is not None
        reported = record.last_out_ms
        if types == [EventType.REFRESHED] and view is not None:
            reported = view.reported_last_out  # progress is told every update_every_ms
        known_at = (known, critical_known)
        self.changed = True
        self.views[alert_id] = View(signature, reported, record.side, event, sent_figures, known_at)

    def republish(
        self,
        records: Iterable[Record],
        previous: dict[str, View],
        make: MakeEvent,
        now_ms: int,
        out: list[AlertEvent],
    ) -> None:
        """After a replay: match `records` to the `previous` views of the replayed span.

        A record already known keeps its alert; an unknown one takes over a published alert
        it overlaps (the same excursion, seen with more data) or is a new alert. Published
        alerts of the span that nothing matches are withdrawn.
        """
        ordered = sorted(records, key=lambda r: (r.start_ms, r.kind.value, r.detail))
        matched: set[str] = set()
        unknown: list[Record] = []
        for record in ordered:
            alert_id = self.alias.get(record.alert_id)
            if alert_id is not None and alert_id not in matched:
                matched.add(alert_id)
            else:
                unknown.append(record)
        for record in unknown:
            for alert_id, view in previous.items():
                if alert_id not in matched and view.overlaps(record):
                    self._bind(record.alert_id, alert_id)
                    break
            matched.add(self._id_for(record.alert_id))
        for record in ordered:
            self.publish(record, make, out, now_ms)
        for alert_id in previous:
            if alert_id not in matched and alert_id in self.views:
                self.withdraw(alert_id, out, now_ms)

    def withdraw(self, alert_id: str, out: list[AlertEvent], now_ms: int) -> None:
        """Late readings show this alert should not have been raised: say so, forget it."""
        view = self.views.pop(alert_id)
        self.changed = True
        natural = self.owner.pop(alert_id, None)
        if natural is not None:
            self.alias.pop(natural, None)
        del now_ms  # the alert keeps its figures and detection time: only its status changes
        fields = {k: v for k, v in view.last.items() if k != "limit_side"}
        fields.update(event=EventType.WITHDRAWN.value, status="withdrawn")
        out.append(AlertEvent.from_dict(fields))

    def span(self, probe_id: str, channel: str, from_t: int) -> dict[str, View]:
        """Published alerts of one channel still open or resolved after `from_t`."""
        return {
            alert_id: view
            for alert_id, view in self.views.items()
            if view.value("probe_id") == probe_id
            and view.value("channel") == channel
            and view.value("kind") != "probe_offline"
            and (view.value("resolved_at_ms") or 2**62) > from_t
        }

    def forget_before(self, horizon_ms: int) -> None:
        """Drop closed alerts resolved before every channel's history: they cannot change.
        (Resolved, not ended: the readings of the clearance time replay it after a restart.)"""
        gone = [a for a, v in self.views.items() if (v.resolved_at_ms or 2**62) < horizon_ms]
        for alert_id in gone:
            self.changed = True
            del self.views[alert_id]
            natural = self.owner.pop(alert_id, None)
            if natural is not None:
                self.alias.pop(natural, None)

    def to_state(self) -> dict[str, Any]:
        return {
            "views": [
                {
                    "id": a,
                    "signature": list(v.signature),
                    "reported": v.reported_last_out,
                    "last": v.last,
                    "known": [v.known_ms, v.critical_known_ms],
                }
                for a, v in self.views.items()
            ],
            "alias": dict(self.alias),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        for item in state["views"]:
            signature = list(item["signature"])
            if signature[0] is not None:
                signature[0] = Severity(signature[0])
            last = item["last"]
            known = item.get("known")  # (absent from states saved before version 2)
            self.views[item["id"]] = View(
                tuple(signature),
                int(item["reported"]),
                int(last["limit_side"]),
                last,
                known=None if known is None else (int(known[0]), _int_or_none(known[1])),
            )
        for natural, alert_id in state["alias"].items():
            self._bind(str(natural), str(alert_id))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
