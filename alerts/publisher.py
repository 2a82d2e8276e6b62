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
from alerts.records import RANK, Record, Severity

MakeEvent = Callable[[EventType, Record], AlertEvent]


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
    __slots__ = ("update_every_ms", "views")

    def __init__(self, update_every_ms: int) -> None:
        self.update_every_ms = update_every_ms
        self.views: dict[str, View] = {}

    def publish(self, record: Record, make: MakeEvent, out: list[AlertEvent], now_ms: int) -> None:
        view = self.views.get(record.alert_id)
        if record.severity is None:  # no longer alertable (a door close event arrived late)
            if view is not None:
                self.withdraw(record.alert_id, out, now_ms)
            return
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
            event = make(event_type, record)
            out.append(event)
        assert event is not None
        last = event.to_dict()
        last["limit_side"] = record.side
        self.views[record.alert_id] = View(signature, record.last_out_ms, last)

    def republish(
        self,
        records: Iterable[Record],
        previous: dict[str, View],
        make: MakeEvent,
        now_ms: int,
        out: list[AlertEvent],
    ) -> None:
        """After a replay: match `records` to the `previous` views of the replayed span."""
        matched: set[str] = set()
        for record in sorted(records, key=lambda r: (r.start_ms, r.kind.value, r.detail)):
            if record.alert_id not in previous or record.alert_id in matched:
                for alert_id, view in previous.items():
                    if alert_id not in matched and view.overlaps(record):
                        record.alert_id = alert_id  # the same alert, seen with more data
                        break
            matched.add(record.alert_id)
            self.publish(record, make, out, now_ms)
        for alert_id in previous:
            if alert_id not in matched:
                self.withdraw(alert_id, out, now_ms)

    def withdraw(self, alert_id: str, out: list[AlertEvent], now_ms: int) -> None:
        """Late readings show this alert should not have been raised: say so, forget it."""
        view = self.views.pop(alert_id)
        fields = {k: v for k, v in view.last.items() if k != "limit_side"}
        fields.update(event=EventType.WITHDRAWN.value, status="withdrawn", detected_at_ms=now_ms)
        out.append(AlertEvent.from_dict(fields))

    def span(self, probe_id: str, channel: str, from_t: int) -> dict[str, View]:
        """Published alerts of one channel still open or ending after `from_t`."""
        return {
            alert_id: view
            for alert_id, view in self.views.items()
            if view.last["probe_id"] == probe_id
            and view.last["channel"] == channel
            and view.last["kind"] != "probe_offline"
            and (view.end_ms is None or view.end_ms > from_t)
        }

    def forget_before(self, horizon_ms: int) -> None:
        """Drop closed alerts that ended before the reorder history: they cannot change."""
        for alert_id in [a for a, v in self.views.items() if (v.end_ms or 2**62) < horizon_ms]:
            del self.views[alert_id]

    def to_state(self) -> list[dict[str, Any]]:
        return [
            {
                "id": a,
                "signature": list(v.signature),
                "reported": v.reported_last_out,
                "last": v.last,
            }
            for a, v in self.views.items()
        ]

    def load_state(self, state: list[dict[str, Any]]) -> None:
        for item in state:
            signature = list(item["signature"])
            if signature[0] is not None:
                signature[0] = Severity(signature[0])
            self.views[item["id"]] = View(tuple(signature), int(item["reported"]), item["last"])
