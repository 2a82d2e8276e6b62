"""Organisations, users, vans, zones, cold rooms, probes, installations, calibrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, model_validator

from coldchain.protocol import MAX_CALIBRATION_OFFSET, PROBE_ID_RE
from server.core.calibration import (
    ACCEPTANCE_LIMIT_C,
    READING_MAX_C,
    READING_MIN_C,
    Result,
    verdict,
)
from server.core.models import OrganisationKind, Role, ZoneKind
from server.schemas.common import Celsius as Temperature
from server.schemas.common import (
    Code,
    Day,
    Email,
    IdRef,
    Input,
    Instant,
    Name,
    Output,
    Password,
    ShortText,
    Tag,
    Text,
)

ProbeId = Annotated[str, Field(pattern=f"^{PROBE_ID_RE.pattern}$", max_length=32)]


class OrganisationIn(Input):
    name: Name
    kind: OrganisationKind
    address: Text | None = None


class OrganisationOut(Output):
    id: int
    name: str
    kind: str
    address: str | None


class MemberIn(Input):
    producer_id: IdRef


class MembershipIn(Input):
    organisation_id: IdRef
    role: Role


class MembershipOut(Output):
    organisation_id: int
    role: str


class UserIn(Input):
    email: Email
    full_name: Name
    password: Password
    memberships: list[MembershipIn] = Field(min_length=1, max_length=20)


class UserOut(Output):
    id: int
    email: str
    full_name: str
    is_active: bool
    is_superuser: bool
    memberships: list[MembershipOut]


class VanIn(Input):
    name: Name
    plate: Tag
    owner_id: IdRef


class VanOut(Output):
    id: int
    name: str
    plate: str
    owner_id: int


class ZoneIn(Input):
    name: ShortText
    kind: ZoneKind


class ZoneOut(Output):
    id: int
    van_id: int
    name: str
    kind: str


class PoolIn(Input):
    cooperative_id: IdRef


class ColdRoomIn(Input):
    name: Name
    owner_id: IdRef
    category: Code
    address: Text | None = None
    # A storage temperature stricter than the category's (a product's label), and why.
    label_max_c: Temperature | None = None
    label_reason: Name | None = None


class ColdRoomLabelIn(Input):
    """The cold room's label temperature and its reason; both absent (or null): none."""

    label_max_c: Temperature | None = None
    label_reason: Name | None = None


class ColdRoomOut(Output):
    id: int
    name: str
    owner_id: int
    category: str
    address: str | None
    label_max_c: float | None
    label_reason: str | None


class LoanIn(Input):
    cooperative_id: IdRef


class ProbeIn(Input):
    probe_id: ProbeId
    label: Name | None = None
    owner_id: IdRef


class ProbeLabelIn(Input):
    """A probe's label (what people call it: « sonde du frigo arrière »); empty: none. Its id
    on the wire never changes: records and the broker know the probe by it."""

    label: Name | None = None


class ProbeOut(Output):
    id: int
    probe_id: str
    label: str | None
    owner_id: int


class InstallationIn(Input):
    zone_id: IdRef | None = None
    cold_room_id: IdRef | None = None
    start: Instant
    end: Instant | None = None


class InstallationEnd(Input):
    end: Instant


class InstallationOut(Output):
    id: int
    probe_id: int
    zone_id: int | None
    cold_room_id: int | None
    start: datetime
    end: datetime | None


Celsius = Annotated[float, Field(ge=READING_MIN_C, le=READING_MAX_C, allow_inf_nan=False)]


class CalibrationIn(Input):
    channel: Tag
    # The contract's bound (the probe refuses a config with more): a probe that needs a larger
    # correction is faulty and must be replaced, not corrected.
    offset: Annotated[
        float, Field(ge=-MAX_CALIBRATION_OFFSET, le=MAX_CALIBRATION_OFFSET, allow_inf_nan=False)
    ]
    calibrated_at: Instant
    reference_instrument: Name
    performed_by: Name
    next_due: Day | None = None
    reference_reading_c: Celsius | None = None
    probe_reading_c: Celsius | None = None
    reference_certificate: Name | None = None
    # Derived from the readings when omitted; refused when it contradicts them.
    result: Result | None = None

    @model_validator(mode="after")
    def _result_agrees(self) -> CalibrationIn:
        readings = (self.reference_reading_c, self.probe_reading_c)
        if (readings[0] is None) != (readings[1] is None):
            raise ValueError(
                "relevé de référence et relevé de la sonde vont ensemble "
                "(reference and probe readings go together)"
            )
        if readings[0] is None or readings[1] is None:
            return self
        rule = verdict(readings[0], readings[1])
        if self.result is None:
            self.result = rule
        elif self.result != rule:
            raise ValueError(
                f"résultat {self.result.value!r} contraire aux relevés : écart "
                f"{abs(readings[1] - readings[0]):.2f} °C, limite ±{ACCEPTANCE_LIMIT_C:g} °C "
                f"(EN 12830) -> {rule.value!r} "
                f"(result contradicts the readings)"
            )
        return self


class CalibrationOut(Output):
    id: int
    probe_id: int
    channel: str
    offset: float
    calibrated_at: datetime
    reference_instrument: str
    performed_by: str
    next_due: date | None
    reference_reading_c: float | None
    probe_reading_c: float | None
    reference_certificate: str | None
    result: str | None
