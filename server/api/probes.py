"""Probes, their installations over time, their calibrations, their attributed readings.
The rules: server/domain/probes.py (a calibration also resolves its overdue alert:
server/alerting/actions.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from server.alerting import actions
from server.api.paging import PagingDep, paginate
from server.api.readings import MAX_POINTS, check_range
from server.core.access import get_visible, visible_probes
from server.core.deps import SessionDep, StoreDep, ViewerDep
from server.core.models import Installation, Probe, utcnow
from server.domain import probes
from server.domain.installations import place_at
from server.domain.place_readings import Calibrations, to_ms
from server.schemas.common import IdPath, Instant, Page
from server.schemas.readings import AttributedReadingOut, ProbeSeriesOut
from server.schemas.registry import (
    CalibrationIn,
    CalibrationOut,
    InstallationEnd,
    InstallationIn,
    InstallationOut,
    ProbeIn,
    ProbeOut,
)

router = APIRouter(prefix="/probes", tags=["probes"])


@router.post("", status_code=201)
def create_probe(body: ProbeIn, viewer: ViewerDep, session: SessionDep) -> ProbeOut:
    """Register a probe under its id on the wire (`cc/v1/dev/<probe_id>/...`)."""
    probe = probes.create_probe(
        session, viewer, probe_id=body.probe_id, label=body.label, owner_id=body.owner_id
    )
    return ProbeOut.model_validate(probe)


@router.get("")
def list_probes(viewer: ViewerDep, session: SessionDep, page: PagingDep) -> Page[ProbeOut]:
    """Probes of the caller's organisations."""
    return paginate(
        session, select(Probe).where(visible_probes(viewer)).order_by(Probe.id), page, ProbeOut
    )


@router.get("/{probe_pk}")
def read_probe(probe_pk: IdPath, viewer: ViewerDep, session: SessionDep) -> ProbeOut:
    """One probe (404 when not visible to the caller)."""
    return ProbeOut.model_validate(get_visible(session, viewer, Probe, probe_pk))


@router.post("/{probe_pk}/installations", status_code=201)
def install_probe(
    probe_pk: IdPath, body: InstallationIn, viewer: ViewerDep, session: SessionDep
) -> InstallationOut:
    """Probe measures a zone or a cold room from `start` (until `end`, or open)."""
    installation = probes.install(
        session,
        viewer,
        probe_pk,
        zone_id=body.zone_id,
        cold_room_id=body.cold_room_id,
        start=body.start,
        end=body.end,
    )
    return InstallationOut.model_validate(installation)


@router.post("/{probe_pk}/installations/{installation_id}/end")
def end_installation(
    probe_pk: IdPath,
    installation_id: IdPath,
    body: InstallationEnd,
    viewer: ViewerDep,
    session: SessionDep,
) -> InstallationOut:
    """The probe was removed from its place at `end`."""
    installation = probes.end_installation(session, viewer, probe_pk, installation_id, body.end)
    return InstallationOut.model_validate(installation)


@router.get("/{probe_pk}/installations")
def list_installations(
    probe_pk: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    page: PagingDep,
) -> Page[InstallationOut]:
    """Where the probe was, oldest first."""
    probe = get_visible(session, viewer, Probe, probe_pk)
    return paginate(session, probes.history(probe), page, InstallationOut)


@router.post("/{probe_pk}/calibrations", status_code=201)
def add_calibration(
    probe_pk: IdPath,
    body: CalibrationIn,
    viewer: ViewerDep,
    session: SessionDep,
    request: Request,
) -> CalibrationOut:
    """Record a calibration: readings of that channel from `calibrated_at` on get its offset.
    A `calibration_overdue` alert it answers is resolved at once (not at the next check)."""
    settings = request.app.state.settings.alerting
    calibration = actions.record_calibration(session, viewer, probe_pk, body, settings, utcnow())
    return CalibrationOut.model_validate(calibration)


@router.get("/{probe_pk}/calibrations")
def list_calibrations(
    probe_pk: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    page: PagingDep,
) -> Page[CalibrationOut]:
    """The probe's calibrations, oldest first."""
    probe = get_visible(session, viewer, Probe, probe_pk)
    return paginate(session, probes.calibrations(probe), page, CalibrationOut)


@router.get("/{probe_pk}/readings")
def probe_readings(
    probe_pk: IdPath,
    start: Annotated[Instant, Query()],
    end: Annotated[Instant, Query()],
    viewer: ViewerDep,
    session: SessionDep,
    store: StoreDep,
) -> ProbeSeriesOut:
    """The probe's readings, each with the place it measured at its device time."""
    probe = get_visible(session, viewer, Probe, probe_pk)
    check_range(start, end)
    history = list(session.scalars(select(Installation).where(Installation.probe_id == probe.id)))
    calibrations = Calibrations(session, [probe.id])
    found = store.readings(probe.probe_id, to_ms(start), to_ms(end))
    out = []
    for reading in found[:MAX_POINTS]:
        calibrated = calibrations.apply(probe.id, reading)
        where = place_at(history, calibrated.time)
        out.append(
            AttributedReadingOut(
                **calibrated.__dict__,
                zone_id=where.zone_id if where else None,
                cold_room_id=where.cold_room_id if where else None,
            )
        )
    return ProbeSeriesOut(
        probe_id=probe.probe_id,
        start=start,
        end=end,
        readings=out,
        truncated=len(found) > MAX_POINTS,
    )
