"""The admin's probe forms: register a probe, install it in a van's zone or a cold room,
end that installation, record a calibration. The domain services the API calls do the
work (server/domain/probes.py; a calibration through server/alerting/actions.py, which
also resolves its overdue alert), so the overlap and calibration rules are theirs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from coldchain import clock
from coldchain.protocol import CALIBRATED_CHANNELS, PROBE_ID_RE
from server.alerting import actions
from server.core.calibration import Result
from server.core.deps import SessionDep
from server.core.models import Probe, Role, utcnow
from server.domain import fleet, probes
from server.pages import i18n
from server.pages.admin_forms import (
    Field,
    Form,
    Page,
    filled,
    options,
    owner,
    places,
    show,
    submit,
)
from server.pages.home_pages import role_page
from server.pages.web import (
    CsrfChecked,
    NavLink,
    decimal,
    local_input,
    local_instant,
    visible_or_404,
)
from server.schemas.common import IdPath
from server.schemas.registry import CalibrationIn, InstallationEnd, InstallationIn, ProbeIn

router = APIRouter(prefix="/admin/probes", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # /admin (server/pages/home_pages.py) links here


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
    page = new_probe_page(request, session)
    heard = request.query_params.get("probe_id", "")
    if PROBE_ID_RE.fullmatch(heard):  # « Enregistrer cette sonde » of an unknown probe
        page.form.values = {"probe_id": heard}
    return show(request, page)


@router.post("")
async def create_probe(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = ProbeIn.model_validate(filled(values, "probe_id", "label", "owner_id"))
        probe = probes.create_probe(
            session,
            page.visit.viewer,
            probe_id=body.probe_id,
            label=body.label,
            owner_id=body.owner_id,
        )
        return f"/admin/probes/{probe.id}"

    return await submit(request, lambda: new_probe_page(request, session), act)


def probe_page(request: Request, session: SessionDep, probe_pk: int, ending: bool = False) -> Page:
    """The probe, where it was, its calibrations; the install form, and the end form of
    the installation in force. `ending`: the end form is the one being submitted."""
    visit = role_page(request, session, Role.ADMIN)
    probe = visible_or_404(session, visit, Probe, probe_pk)
    where = places(fleet.seen_by(session, visit.viewer))
    now = local_input(clock.utcnow())
    history = list(session.scalars(probes.history(probe)))
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
    newest_first = reversed(list(session.scalars(probes.calibrations(probe))))
    context: dict[str, Any] = {
        "probe": probe,
        "history": history,
        "places": where,
        "calibrations": list(newest_first),
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
        probes.install(
            session,
            page.visit.viewer,
            probe_pk,
            zone_id=body.zone_id,
            cold_room_id=body.cold_room_id,
            start=body.start,
            end=body.end,
        )
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
        probes.end_installation(session, page.visit.viewer, probe_pk, installation_id, body.end)
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
        settings = request.app.state.settings.alerting
        actions.record_calibration(session, page.visit.viewer, probe_pk, body, settings, utcnow())
        return f"/admin/probes/{probe_pk}"

    return await submit(request, lambda: calibration_page(request, session, probe_pk), act)
