"""What has been told to people, and the events that bring them up to date.

The machines only keep records; the publisher compares each record with what was last
published under its alert id and emits opened / escalated / updated / resolved. After a
replay (late data, a lot dropped, a restart) it matches the new records to the published
ones by overlap, so an alert keeps its id, and withdraws what the new data no longer shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from alerts.events import AlertEvent, EventType
from alerts.findings import RANK, Record, Severity

MakeEvent = Callable[[EventType, Record, str], AlertEvent]


@dataclasses.dataclass(slots=True)
class View:
    """The last published state of one alert."""

    signature: tuple[Any, ...]
    reported_last_out: int
    last: dict[str, Any]  # the last event sent, as a dict (JSON-able, for save and withdraw)

    @property
    def end_ms(self) -> int | None:
        end: int | None = self.last["end_ms"]
        return end

    def overlaps(self, record: Record) -> bool:
        last = self.last
        if (last["kind"], last["probe_id"], last["channel"]) != (
            record.kind.value,
            record.probe_id,
            record.channel,
        ):
            return False
        if record.detail != last["detail"] or (record.side >= 0) != (last["limit_side"] >= 0):
            return False
        end = self.end_ms
        return record.start_ms <= (end if end is not None else 2**62) and last["start_ms"] <= (
            record.end_ms if record.end_ms is not None else 2**62
        )


class Publisher:
    """Published alerts, keyed by alert id.

    A record's own id is natural (kind, probe, channel, side or detail, start); late data can
    move its start, so the publisher keeps which published alert each natural id stands for
    (`alias`, one to one with `owner`), and an alert keeps its id through every replay.
    """

    __slots__ = ("alias", "owner", "update_every_ms", "views")

    def __init__(self, update_every_ms: int) -> None:
        self.update_every_ms = update_every_ms
        self.views: dict[str, View] = {}
        self.alias: dict[str, str] = {}  # natural id -> published alert id
        self.owner: dict[str, str] = {}  # published alert id -> natural id

    def _bind(self, natural: str, alert_id: str) -> None:
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
        if view is None:
            types = [EventType.OPENED]
            if record.closed:
                types.append(EventType.RESOLVED)
        else:
            progressed = record.last_out_ms - view.reported_last_out >= self.update_every_ms
            if signature == view.signature and not progressed:
                return
            types = []
            before = Severity(view.last["severity"])
            if RANK[record.severity] > RANK[before]:
                types.append(EventType.ESCALATED)
            if record.closed and view.last["status"] != "closed":
                types.append(EventType.RESOLVED)
            if not types:
                types.append(EventType.UPDATED)
        event = None
        for event_type in types:
            event = make(event_type, record, alert_id)
            out.append(event)
        assert event is not None
        last = event.to_dict()
        last["limit_side"] = record.side
        self.views[alert_id] = View(signature, record.last_out_ms, last)

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
        natural = self.owner.pop(alert_id, None)
        if natural is not None:
            self.alias.pop(natural, None)
        fields = {k: v for k, v in view.last.items() if k != "limit_side"}
        fields.update(event=EventType.WITHDRAWN.value, status="withdrawn", detected_at_ms=now_ms)
        out.append(AlertEvent.from_dict(fields))

    def span(self, probe_id: str, channel: str, from_t: int) -> dict[str, View]:
        """Published alerts of one channel still open or resolved after `from_t`."""
        return {
            alert_id: view
            for alert_id, view in self.views.items()
            if view.last["probe_id"] == probe_id
            and view.last["channel"] == channel
            and view.last["kind"] != "probe_offline"
            and (view.last["resolved_at_ms"] or 2**62) > from_t
        }

    def forget_before(self, horizon_ms: int) -> None:
        """Drop closed alerts that ended before every channel's history: they cannot change."""
        for alert_id in [a for a, v in self.views.items() if (v.end_ms or 2**62) < horizon_ms]:
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
            self.views[item["id"]] = View(tuple(signature), int(item["reported"]), item["last"])
        for natural, alert_id in state["alias"].items():
            self._bind(str(natural), str(alert_id))
