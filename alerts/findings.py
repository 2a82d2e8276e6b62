"""What the engine finds: excursions and the other records an alert is made of."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from alerts.limits import ZoneLimit


class AlertKind(StrEnum):
    TEMPERATURE = "temperature_excursion"
    DOOR_OPEN = "door_open"
    SENSOR_FAULT = "sensor_fault"  # fault code, stuck value or impossible jump (see `detail`)
    PROBE_OFFLINE = "probe_offline"
    SUSPENDED = "evaluation_suspended"  # a defrost or loading window: recorded, never invisible


class Severity(StrEnum):
    INFO = "info"  # a suspension window
    TOLERATED = "tolerated"  # beyond the limit within a legal transport tolerance
    WARNING = "warning"  # beyond our internal margin
    CRITICAL = "critical"  # beyond the legal (or HACCP critical) limit


RANK = {None: 0, Severity.INFO: 1, Severity.TOLERATED: 2, Severity.WARNING: 3, Severity.CRITICAL: 4}

# Sensor-fault details that are not probe fault codes.
STUCK_VALUE = "stuck_value"
IMPOSSIBLE_JUMP = "impossible_jump"


def natural_id(kind: AlertKind, probe_id: str, channel: str, what: object, start_ms: int) -> str:
    """A record's own identity: kind, probe, channel, side or detail, start."""
    return f"{kind.value}:{probe_id}:{channel}:{what}:{start_ms}"


class Record:
    """One excursion (or door, fault, suspension episode) of one probe channel, in device time.

    Temperatures are kept as read; `side` is +1 for too warm, -1 for too cold. `severity`
    stays None while the episode is still within its delay: nothing is published then.
    """

    __slots__ = (
        "alert_at_ms",
        "alert_id",
        "beyond_since",
        "channel",
        "clear_since",
        "clock_unsynced",
        "closed",
        "critical_at_ms",
        "degree_ms",
        "detail",
        "end_ms",
        "gaps",
        "kind",
        "last_out_ms",
        "limit",
        "limit_t_ms",
        "n",
        "peak",
        "pend_n",
        "pend_sum",
        "probe_id",
        "resolved_at_ms",
        "severity",
        "side",
        "start_ms",
        "sum_v",
        "time_above_ms",
        "tolerated_ms",
    )

    def __init__(
        self,
        kind: AlertKind,
        probe_id: str,
        channel: str,
        start_ms: int,
        side: int = 0,
        detail: str = "",
    ) -> None:
        self.alert_id = natural_id(kind, probe_id, channel, detail or side, start_ms)
        self.kind = kind
        self.probe_id = probe_id
        self.channel = channel
        self.side = side
        self.detail = detail
        self.start_ms = start_ms
        self.last_out_ms = start_ms
        self.end_ms: int | None = None
        self.closed = False
        self.resolved_at_ms: int | None = None  # device time of the reading that closed it
        self.clear_since: int | None = None
        self.severity: Severity | None = None
        self.alert_at_ms: int | None = None
        self.critical_at_ms: int | None = None
        self.beyond_since: int | None = None
        self.n = 0
        self.sum_v = 0.0
        self.pend_n = 0  # readings back inside, not yet known to end the excursion
        self.pend_sum = 0.0
        self.peak: float | None = None
        self.time_above_ms = 0
        self.degree_ms = 0.0
        self.tolerated_ms = 0
        self.gaps: list[tuple[int, int]] = []
        self.clock_unsynced = False
        self.limit: ZoneLimit | None = None  # the strictest limit it was judged against
        self.limit_t_ms: int | None = None  # a time at which that limit held (for restore)

    def raise_to(self, severity: Severity, t_ms: int) -> None:
        if RANK[severity] > RANK[self.severity]:
            if self.severity is None:
                self.alert_at_ms = t_ms
            if severity is Severity.CRITICAL:
                self.critical_at_ms = t_ms
            self.severity = severity

    def close(self, end_ms: int) -> None:
        self.end_ms = end_ms
        self.closed = True

    @property
    def mean(self) -> float | None:
        return self.sum_v / self.n if self.n else None

    @property
    def duration_ms(self) -> int:
        return (self.end_ms if self.end_ms is not None else self.last_out_ms) - self.start_ms

    def clone(self) -> Record:
        copy = Record.__new__(Record)
        for name in Record.__slots__:
            setattr(copy, name, getattr(self, name))
        copy.gaps = list(self.gaps)
        return copy

    def signature(self) -> tuple[Any, ...]:
        """What, when it changes, is worth telling people (not every new reading)."""
        return (
            self.severity,
            self.closed,
            self.start_ms,
            self.end_ms,
            self.resolved_at_ms,
            None if self.peak is None else round(self.peak, 1),
            len(self.gaps),
            self.limit.max_c if self.limit else None,
        )

    def to_state(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in Record.__slots__ if name != "limit"}
        state["kind"] = self.kind.value
        state["severity"] = None if self.severity is None else self.severity.value
        state["gaps"] = [list(g) for g in self.gaps]
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], limit: ZoneLimit | None) -> Record:
        record = cls.__new__(cls)
        for name in cls.__slots__:
            if name != "limit":
                setattr(record, name, state[name])
        record.kind = AlertKind(state["kind"])
        record.severity = None if state["severity"] is None else Severity(state["severity"])
        record.gaps = [(int(a), int(b)) for a, b in state["gaps"]]
        record.limit = limit
        return record


class Settings(Protocol):
    """What the checks read of a channel's settings (alerts/machine.py `Context` is one)."""

    @property
    def gap_ms(self) -> int: ...  # no reading for this long is a gap
    @property
    def in_transport(self) -> bool: ...  # the transport tolerance of the limit applies
    @property
    def stuck_ms(self) -> int: ...  # the same value this long is a stuck sensor


class ProbeChannel(Protocol):
    """What a check reads and marks of one probe channel (the channel machine,
    alerts/machine.py, is one): whose it is, its settings, the previous reading, whether it
    changed since the state was last saved, and how a record of it ends."""

    @property
    def probe_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def ctx(self) -> Settings: ...
    @property
    def prev_t(self) -> int | None: ...
    @property
    def prev_v(self) -> float | None: ...

    dirty: bool

    def finish(self, record: Record, end_ms: int, at_ms: int) -> None: ...
