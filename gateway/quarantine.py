"""What the gateway does with rejected input after the fact: replay it, and log it sparingly.

A quarantined message was acknowledged (the broker or the probe forgot it), so the quarantine
is its only copy. Once the cause is fixed (a probe whose clock ran more than 10 minutes ahead
has resynchronised and the time its readings carry has passed, a sink that refused a field
type accepts it again, a validator bug is fixed), `coldchain gateway quarantine replay`
validates each item again with today's rules and clock: what passes goes to the spool and
leaves the quarantine in the same transaction (the sink then stores it, first write wins);
what still fails stays, with its reason, and is counted. Noise that was never a message (a
serial line that is not a frame) stays: there is nothing in it to store.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from coldchain import protocol
from coldchain.protocol import Kind, ProbeStatus, Reading, ReadingsBatch, Rejection
from coldchain.serial_framing import LineError
from gateway.spool import Message, Quarantined, Spool, StatusUpdate

log = logging.getLogger(__name__)

# Items read and committed per transaction: a replay of a large quarantine holds the spool's
# write lock briefly many times rather than once for long (the running gateway's intake
# shares that lock).
REPLAY_CHUNK = 500

# Serial lines that were never frames: no message in them to replay.
_NOISE = frozenset(error.value for error in LineError) | {"not_a_frame"}


@dataclass
class Replayed:
    """What one replay did: messages stored again, their readings, and what stayed."""

    messages: int = 0
    readings: int = 0
    new_readings: int = 0  # the rest were already spooled (a replay run twice)
    statuses: int = 0
    kept: Counter[str] = field(default_factory=Counter)  # reason they still fail -> count


def _kind(item: Quarantined) -> Kind | None:
    """The kind of message an item was: from its MQTT topic, or from a serial frame's payload
    (the frame's kind is not kept; a readings message is the one with a "readings" field)."""
    if item.topic is not None:
        parsed = protocol.parse_topic(item.topic)
        return None if isinstance(parsed, Rejection) else parsed[1]
    return Kind.READINGS if b'"readings"' in item.payload else Kind.STATUS


def _sink_readings(item: Quarantined) -> list[Reading] | None:
    """Readings the sink once refused (stored by Spool.move_to_quarantine as a JSON list)."""
    try:
        return [Reading(**fields) for fields in json.loads(item.payload)]
    except (ValueError, TypeError) as exc:
        log.warning("quarantined sink item #%s is not a list of readings: %s", item.id, exc)
        return None


def judge(item: Quarantined, now_ms: int) -> list[Message] | StatusUpdate | str:
    """Validate one item again: the messages (one per probe) or the status to store, or the
    reason it still fails."""
    if item.source == "sink":
        readings = _sink_readings(item)
        if readings is None:
            return item.reason
        per_probe: dict[str, list[Reading]] = {}
        for reading in readings:
            per_probe.setdefault(reading.probe_id, []).append(reading)
        return [(batch, item.received_ms) for batch in per_probe.values()]
    if item.reason in _NOISE:
        return item.reason
    kind = _kind(item)
    if kind is None:
        return protocol.Reason.INVALID_TOPIC.value
    if len(item.payload) > protocol.MAX_PAYLOAD_BYTES:
        return protocol.Reason.PAYLOAD_TOO_LARGE.value  # kept truncated: cannot be whole again
    result: ReadingsBatch | ProbeStatus | Rejection
    if kind is Kind.READINGS:
        result = protocol.parse_readings(item.payload, now_ms, item.topic)
    else:
        result = protocol.parse_status(item.payload, now_ms, item.topic)
    if isinstance(result, Rejection):
        return result.reason.value
    if isinstance(result, ReadingsBatch):
        return [(result.readings, item.received_ms)]
    return StatusUpdate(result, item.received_ms, item.source)


def replay(
    spool: Spool,
    now_ms: Callable[[], int],
    *,
    reason: str | None = None,
    ids: Sequence[int] = (),
    dry_run: bool = False,
) -> Replayed:
    """Replay the quarantine (all of it, one reason's items, or the given ids), oldest first."""
    done = Replayed()
    after = 0  # the last id looked at: items that stay are not read twice
    while True:
        items = spool.quarantine(REPLAY_CHUNK, reason, ids=ids, oldest_first=True, after_id=after)
        if not items:
            return done
        after = max(item.id or 0 for item in items)
        messages: list[Message] = []
        statuses: list[StatusUpdate] = []
        released: list[int] = []
        now = now_ms()
        for item in items:
            verdict = judge(item, now)
            if isinstance(verdict, str):
                done.kept[verdict] += 1
                continue
            assert item.id is not None
            released.append(item.id)
            if isinstance(verdict, StatusUpdate):
                statuses.append(verdict)
                done.statuses += 1
            else:
                messages.extend(verdict)
                done.messages += 1
                done.readings += sum(len(batch) for batch, _ in verdict)
        if not dry_run and released:
            done.new_readings += spool.commit(messages, statuses=statuses, released=released)


class ReasonLog:
    """One log line per rejection reason per minute, with the count of the ones not logged.

    A probe with a broken clock sends a quarantined message every few seconds; a flood of
    hostile messages, thousands a second. Each is counted (the rejected metric) and kept (the
    quarantine): the log needs one line saying it happens, not one per message.
    """

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self._since: dict[str, float] = {}  # reason -> when its line was last written
        self._unlogged: Counter[str] = Counter()

    def quarantined(self, item: Quarantined) -> None:
        now = self.clock()
        since = self._since.get(item.reason)
        if since is not None and now - since < self.every_s:
            self._unlogged[item.reason] += 1
            return
        self._since[item.reason] = now
        more = self._unlogged.pop(item.reason, 0)
        log.warning(
            "quarantined %s message on %s: %s (%s)%s",
            item.source, item.topic, item.reason, item.detail,
            f"; {more} more with this reason since the last line" if more else "",
        )  # fmt: skip
