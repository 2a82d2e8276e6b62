"""All tables. Importing this package registers every model on `Base.metadata` (Alembic)."""

import server.core.models.alerts  # alert tables on Base.metadata
import server.core.models.exports  # background export jobs on Base.metadata
import server.core.models.history  # former names (renames keep history) on Base.metadata
import server.core.models.idempotency  # forms sent twice with one key on Base.metadata
import server.core.models.records  # noqa: F401  (sealed records on Base.metadata)
from server.core.models.auth import AccessToken, FailedLogin
from server.core.models.base import Base, UTCDateTime, utcnow
from server.core.models.deliveries import (
    Delivery,
    DeliveryStatus,
    DepartureCheck,
    Handover,
    HandoverZoneTemperature,
    Load,
    LoadDecision,
    PlaceKind,
    Stop,
    StopKind,
)
from server.core.models.fleet import ColdRoom, ColdRoomLoan, Van, VanPoolEntry, Zone, ZoneKind
from server.core.models.organisations import (
    ROLES_BY_KIND,
    CooperativeMember,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from server.core.models.probes import Calibration, Installation, Probe, UnknownProbe

__all__ = [
    "ROLES_BY_KIND",
    "AccessToken",
    "Base",
    "Calibration",
    "ColdRoom",
    "ColdRoomLoan",
    "CooperativeMember",
    "Delivery",
    "DeliveryStatus",
    "DepartureCheck",
    "FailedLogin",
    "Handover",
    "HandoverZoneTemperature",
    "Installation",
    "Load",
    "LoadDecision",
    "Membership",
    "Organisation",
    "OrganisationKind",
    "PlaceKind",
    "Probe",
    "Role",
    "Stop",
    "StopKind",
    "UTCDateTime",
    "UnknownProbe",
    "User",
    "Van",
    "VanPoolEntry",
    "Zone",
    "ZoneKind",
    "utcnow",
]
