"""Request and response bodies of the alert API (bounded: hostile input is a 422)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from server.core.models.alerts import Decision
from server.schemas.common import Celsius, Clean, Day, IdRef, Input, Instant, Output, ShortText

LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), Clean
]


class AcknowledgeIn(Input):
    note: LongText | None = None


class LotDecisionIn(Input):
    load_id: IdRef
    decision: Decision
    justification: LongText


class CorrectiveActionIn(Input):
    immediate_action: LongText  # isolate/hold the lots, fix the equipment...
    action_at: Instant
    product_assessment: LongText  # sensory check, label and shelf-life review
    core_temperature_c: Celsius | None = None  # EN 13485 hand thermometer
    core_measured_at: Instant | None = None
    thermometer: ShortText | None = None
    lot_decisions: Annotated[list[LotDecisionIn], Field(max_length=500, default_factory=list)]
    root_cause: LongText
    preventive_action: LongText
    preventive_due: Day | None = None
    preventive_owner: ShortText | None = None
    afsca_notified: bool
    afsca_reason: LongText  # why it was (or was not) notified: logged either way


class CloseIn(Input):
    review_note: LongText


class AlertLotOut(Output):
    load_id: int
    delivery_id: int
    consignor_id: int
    consignor_name: str  # the producer whose goods these are
    lot_reference: str
    description: str
    quantity: str
    unit: str
    consignee: str


class LotDecisionOut(Output):
    load_id: int
    decision: str
    justification: str


class CorrectiveActionOut(Output):
    recorded_by_id: int
    recorded_at: datetime
    immediate_action: str
    action_at: datetime
    product_assessment: str
    core_temperature_c: float | None
    core_measured_at: datetime | None
    thermometer: str | None
    root_cause: str
    preventive_action: str
    preventive_due: date | None
    preventive_owner: str | None
    afsca_notified: bool
    afsca_reason: str
    lot_decisions: list[LotDecisionOut] = Field(default_factory=list)


class AlertOut(Output):
    id: int
    uid: str
    kind: str
    severity: str
    state: str
    engine_status: str
    location_key: str
    zone_id: int | None
    cold_room_id: int | None
    van_id: int | None
    delivery_id: int | None
    cooperative_id: int | None
    probe_id: str
    channel: str
    start_at: datetime
    last_out_at: datetime
    end_at: datetime | None
    peak: float | None
    detected_at: datetime
    detected_late: bool
    text_fr: str
    text_en: str
    acknowledged_by_id: int | None
    acknowledged_at: datetime | None
    closed_by_id: int | None
    closed_at: datetime | None
    review_note: str | None
    escalation_level: int


class AlertDetailOut(AlertOut):
    record: dict[str, Any]
    lots: list[AlertLotOut]
    corrective_action: CorrectiveActionOut | None


class EntryOut(Output):
    id: int
    alert_id: int
    at: datetime
    kind: str
    actor_id: int | None
    data: dict[str, Any]
