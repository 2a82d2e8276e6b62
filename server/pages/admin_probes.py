"""The admin's probe forms: register a probe, install it in a van's zone or a cold room,
end that installation, record a calibration. The API's route functions
(server/api/probes.py) do the work, so the overlap and calibration rules are theirs.
Included by server/pages/admin_pages.py's router."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from coldchain import clock
from coldchain.protocol import CALIBRATED_CHANNELS
from server.api import probes
from server.core.access import get_visible, visible_cold_rooms, visible_vans
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.core.models import Calibration, ColdRoom, Installation, Probe, Role, Van, Zone
from server.domain.calibration import Result
from server.pages import i18n
from server.pages.admin_forms import (
    Field,
    Form,
    Page,
    decimal,
    filled,
    local_input,
    local_instant,
    options,
    owner,
    show,
    submit,
)
from server.pages.home_pages import role_page
from server.pages.web import CsrfChecked, PageRefused, Visitor
from server.schemas.common import IdPath
from server.schemas.registry import CalibrationIn, InstallationEnd, InstallationIn, ProbeIn

router = APIRouter(prefix="/probes", include_in_schema=False)


def new_probe_page(request: Request, session: SessionDep) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    fields = [
        Field("probe_id", "probe_id", maxlength=32),
        Field("label", "label", required=False),
        owner(session, visit),
    ]
    form = Form("new_probe", "/admin/probes", fields, "create", field_of={"conflict": "probe_id"})
    return Page(session, visit, form)


@router.get("/new", response_class=HTMLResponse)
def new_probe(request: Request, session: SessionDep) -> Response:
    return show(request, new_probe_page(request, session))


@router.post("")
async def create_probe(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = ProbeIn.model_validate(filled(values, "probe_id", "label", "owner_id"))
        return f"/admin/probes/{probes.create_probe(body, page.visit.viewer, session).id}"

    return await submit(request, lambda: new_probe_page(request, session), act)


def places(session: SessionDep, visit: Visitor) -> dict[str, str]:
    """Zones of the visible vans and visible cold rooms, as the select offers them
    (check_place, the API's rule, refuses those the admin may not install in)."""
    viewer = visit.viewer
    found = session.execute(
        select(Zone, Van)
        .join(Van, Van.id == Zone.van_id)
        .where(visible_vans(viewer))
        .order_by(Van.name, Zone.id)
    ).all()
    shown = {f"zone-{z.id}": f"{v.name} — {z.name}" for z, v in found}
    rooms = session.scalars(
        select(ColdRoom).where(visible_cold_rooms(viewer)).order_by(ColdRoom.name)
    )
    shown.update({f"room-{r.id}": r.name for r in rooms})
    return shown


def probe_page(request: Request, session: SessionDep, probe_pk: int, ending: bool = False) -> Page:
    """The probe, where it was, its calibrations; the install form, and the end form of
    the installation in force. `ending`: the end form is the one being submitted."""
    visit = role_page(request, session, Role.ADMIN)
    try:
        probe = get_visible(session, visit.viewer, Probe, probe_pk)
    except ApiError as missing:  # not visible answers like not there
        raise PageRefused(404, visit) from missing
    where = places(session, visit)
    now = local_input(clock.utcnow())
    history = list(
        session.scalars(
            select(Installation)
            .where(Installation.probe_id == probe.id)
            .order_by(Installation.start)
        )
    )
    current = next((i for i in history if i.end is None), None)
    install = Form(
        "install",
        f"/admin/probes/{probe.id}/installations",
        [
            Field("place", "place", "select", options=tuple(where.items())),
            Field("start", "start", "datetime-local"),
            Field("end", "end", "datetime-local", required=False),
        ],
        "install_probe",
        values={"start": now},
        field_of={"probe_already_installed": "start"},
    )
    end = None
    if current is not None:
        end = Form(
            "end_installation",
            f"/admin/probes/{probe.id}/installations/{current.id}/end",
            [Field("end", "removed_at", "datetime-local")],
            "end_installation",
            values={"end": now},
            field_of={"validation_error": "end", "probe_already_installed": "end"},
        )
    calibrations = session.scalars(
        select(Calibration)
        .where(Calibration.probe_id == probe.id)
        .order_by(Calibration.calibrated_at.desc())
    )
    context: dict[str, Any] = {
        "probe": probe,
        "history": history,
        "places": where,
        "calibrations": list(calibrations),
        "install": install,
        "end": end,
    }
    form = end if ending and end is not None else install
    return Page(session, visit, form, "admin/probe.html", context)


@router.get("/{probe_pk}", response_class=HTMLResponse)
def probe(probe_pk: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, probe_page(request, session, probe_pk))


@router.post("/{probe_pk}/installations")
async def install(
    probe_pk: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        kind, _, pk = values.get("place", "").partition("-")
        at = {"zone": "zone_id", "room": "cold_room_id"}.get(kind)
        times = {name: local_instant(values[name]) for name in filled(values, "start", "end")}
        body = InstallationIn.model_validate({**({at: pk} if at else {}), **times})
        probes.install_probe(probe_pk, body, page.visit.viewer, session)
        return f"/admin/probes/{probe_pk}"

    return await submit(request, lambda: probe_page(request, session, probe_pk), act)


@router.post("/{probe_pk}/installations/{installation_id}/end")
async def end_installation(
    probe_pk: IdPath,
    installation_id: IdPath,
    request: Request,
    session: SessionDep,
    _csrf: CsrfChecked,
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = InstallationEnd.model_validate(
            {name: local_instant(values[name]) for name in filled(values, "end")}
        )
        probes.end_installation(probe_pk, installation_id, body, page.visit.viewer, session)
        return f"/admin/probes/{probe_pk}"

    return await submit(request, lambda: probe_page(request, session, probe_pk, True), act)


def calibration_page(request: Request, session: SessionDep, probe_pk: int) -> Page:
    visit = probe_page(request, session, probe_pk).visit  # admin, and the probe is visible
    t = i18n.translator(i18n.page_language(request))
    results = options((r.value, t[f"result_{r.value}"]) for r in Result)
    fields = [
        Field(
            "channel",
            "channel",
            "select",
            options=options((c, c) for c in sorted(CALIBRATED_CHANNELS)),
        ),
        Field("offset", "offset", "decimal"),
        Field("calibrated_at", "calibrated_at", "datetime-local"),
        Field("reference_instrument", "reference_instrument"),
        Field("performed_by", "performed_by"),
        Field("next_due", "next_due", "date", required=False),
        Field("reference_reading_c", "reference_reading_c", "decimal", required=False),
        Field("probe_reading_c", "probe_reading_c", "decimal", required=False),
        Field("reference_certificate", "reference_certificate", required=False),
        Field("result", "result", "select", required=False, options=(("", "—"), *results)),
    ]
    form = Form(
        "new_calibration",
        f"/admin/probes/{probe_pk}/calibrations",
        fields,
        "record",
        values={"calibrated_at": local_input(clock.utcnow()), "offset": "0"},
        field_of={"validation_error": "channel"},
    )
    return Page(session, visit, form, context={"back": f"/admin/probes/{probe_pk}"})


@router.get("/{probe_pk}/calibrations/new", response_class=HTMLResponse)
def new_calibration(probe_pk: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, calibration_page(request, session, probe_pk))


@router.post("/{probe_pk}/calibrations")
async def add_calibration(
    probe_pk: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        typed = filled(
            values,
            "channel",
            "reference_instrument",
            "performed_by",
            "next_due",
            "reference_certificate",
            "result",
        )
        for name in ("offset", "reference_reading_c", "probe_reading_c"):
            if decimal(values.get(name)) is not None:
                typed[name] = decimal(values.get(name))
        if values.get("calibrated_at"):
            typed["calibrated_at"] = local_instant(values["calibrated_at"])
        body = CalibrationIn.model_validate(typed)
        probes.add_calibration(probe_pk, body, page.visit.viewer, session, request)
        return f"/admin/probes/{probe_pk}"

    return await submit(request, lambda: calibration_page(request, session, probe_pk), act)
