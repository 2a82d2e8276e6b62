"""Probes: registering one under its id on the wire, installing it in a van's zone or a
cold room (one place at a time: server/domain/installations.py), ending that installation,
recording a calibration. Who may do it (server/core/access.py) and what is refused, with
the French (and English) reason.

Recording a calibration also resolves the overdue-calibration alert it answers: that part
is the alert worker's (server/alerting/actions.py `record_calibration` calls `add_calibration`
here, then the alerting check)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from coldchain.protocol import CALIBRATED_CHANNELS
from server.core.access import Viewer, can_manage_org, get_allowed, require
from server.core.crud import commit, insert
from server.core.errors import ApiError, invalid, phrase
from server.core.models import Calibration, Installation, Probe, Role
from server.domain import unknown_probes
from server.domain.installations import check_no_overlap, check_place
from server.schemas.registry import CalibrationIn

INSTALLATION = phrase("what_installation")  # what a conflict names


def managed_probe(session: Session, viewer: Viewer, probe_pk: int) -> Probe:
    """A probe the viewer sees (else 404) and manages (else 403)."""
    return get_allowed(
        session, viewer, Probe, probe_pk, lambda p: can_manage_org(viewer, p.owner_id)
    )


def create_probe(
    session: Session, viewer: Viewer, *, probe_id: str, label: str | None, owner_id: int
) -> Probe:
    """A probe under its id on the wire (`cc/v1/dev/<probe_id>/...`); if it was heard before,
    it leaves the admin's list of unknown probes."""
    require(can_manage_org(viewer, owner_id))
    unknown_probes.forget(session, probe_id)  # committed with the probe, or not at all
    return insert(
        session,
        Probe(probe_id=probe_id, label=label, owner_id=owner_id),
        phrase("probe_id_taken"),
    )


def update_label(session: Session, viewer: Viewer, probe_pk: int, label: str | None) -> Probe:
    """Rename what people call the probe (who manages it). Records and the broker know it by
    its id, which never changes, so no former label is kept."""
    probe = managed_probe(session, viewer, probe_pk)
    probe.label = label
    commit(session, phrase("what_probe"))
    return probe


def history(probe: Probe) -> Select[Installation]:
    """Where the probe was, oldest first."""
    return (
        select(Installation)
        .where(Installation.probe_id == probe.id)
        .order_by(Installation.start, Installation.id)
    )


def install(
    session: Session,
    viewer: Viewer,
    probe_pk: int,
    *,
    zone_id: int | None,
    cold_room_id: int | None,
    start: datetime,
    end: datetime | None,
) -> Installation:
    """The probe measures a zone or a cold room from `start` (until `end`, or open)."""
    probe = managed_probe(session, viewer, probe_pk)
    check_place(session, viewer, zone_id, cold_room_id)
    check_no_overlap(session, probe, start, end)
    installation = Installation(
        probe_id=probe.id,
        zone_id=zone_id,
        cold_room_id=cold_room_id,
        start=start,
        end=end,
        created_by_id=viewer.user_id,
    )
    return insert(session, installation, INSTALLATION)


def end_installation(
    session: Session, viewer: Viewer, probe_pk: int, installation_id: int, end: datetime
) -> Installation:
    """The probe was removed from its place at `end`."""
    probe = managed_probe(session, viewer, probe_pk)
    installation = session.get(Installation, installation_id)
    if installation is None or installation.probe_id != probe.id:
        raise ApiError(404, "not_found")
    check_no_overlap(session, probe, installation.start, end, ignore_id=installation.id)
    installation.end = end
    commit(session, INSTALLATION)
    return installation


def calibrations(probe: Probe) -> Select[Calibration]:
    """The probe's calibrations, oldest first."""
    return (
        select(Calibration)
        .where(Calibration.probe_id == probe.id)
        .order_by(Calibration.calibrated_at, Calibration.id)
    )


def add_calibration(
    session: Session, viewer: Viewer, probe_pk: int, facts: CalibrationIn
) -> Calibration:
    """Record a calibration (the owner's admin or producer, or its hygiene officer):
    readings of that channel from `calibrated_at` on get its offset. Committed."""
    probe = get_allowed(
        session,
        viewer,
        Probe,
        probe_pk,
        lambda p: (
            can_manage_org(viewer, p.owner_id) or viewer.has(p.owner_id, Role.HYGIENE_OFFICER)
        ),
    )
    if facts.channel not in CALIBRATED_CHANNELS:
        known = ", ".join(sorted(CALIBRATED_CHANNELS))
        raise invalid("channel_not_calibrated", channel=repr(facts.channel), known=known)
    calibration = Calibration(
        probe_id=probe.id,
        recorded_by_id=viewer.user_id,
        channel=facts.channel,
        offset=facts.offset,
        calibrated_at=facts.calibrated_at,
        reference_instrument=facts.reference_instrument,
        performed_by=facts.performed_by,
        next_due=facts.next_due,
        reference_reading_c=facts.reference_reading_c,
        probe_reading_c=facts.probe_reading_c,
        reference_certificate=facts.reference_certificate,
        result=facts.result,
    )
    return insert(session, calibration, phrase("what_calibration"))
