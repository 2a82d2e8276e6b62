"""The admin's probe forms: register a probe, install it in a van's zone or a cold room,
end that installation, record a calibration. The domain services the API calls do the
work (server/domain/probes.py; a calibration through server/alerting/actions.py, which
also resolves its overdue alert), so the overlap and calibration rules are theirs.

Registering a probe also gives it its broker account and shows, once, what to put on it
(coldchain/provisioning.py): the page is the answer to the form's POST, with the
provisioning file inside it as a download link, so neither the broker password nor the
WiFi password is kept by the server. « Réinitialiser le mot de passe » gives a new one the
same way, after a confirmation: the probe is cut off until it is reflashed."""

from __future__ import annotations

import base64
import logging
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from coldchain import clock, provisioning
from coldchain.protocol import CALIBRATED_CHANNELS, PROBE_ID_RE
from server.alerting import actions
from server.core.calibration import Result
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.core.models import Probe, Role, utcnow
from server.domain import fleet, probes
from server.domain.place_readings import from_ms
from server.pages import i18n
from server.pages.admin_forms import (
    Field,
    Form,
    Page,
    errors_of,
    filled,
    options,
    owner,
    places,
    refusal,
    show,
    submit,
)
from server.pages.home_pages import role_page
from server.pages.web import (
    CsrfChecked,
    NavLink,
    Visitor,
    decimal,
    handle_form,
    local_input,
    local_instant,
    render,
    visible_or_404,
)
from server.schemas.common import IdPath
from server.schemas.registry import (
    CalibrationIn,
    InstallationEnd,
    InstallationIn,
    ProbeIn,
    ProbeLabelIn,
)

router = APIRouter(prefix="/admin/probes", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # /admin (server/pages/home_pages.py) links here


log = logging.getLogger(__name__)

# What the admin types for the probe's provisioning file: the WiFi networks it may use
# (the depot's, a van's hotspot), their passwords (only in the download) and its interval.
NETWORK_FIELDS = (
    Field("wifi_ssid", "wifi_ssid", required=False, maxlength=32),
    Field("wifi_password", "wifi_password", "password", required=False, maxlength=63),
    Field("wifi2_ssid", "wifi2_ssid", required=False, maxlength=32),
    Field("wifi2_password", "wifi2_password", "password", required=False, maxlength=63),
    Field("interval_s", "interval_s", maxlength=3),
)
NETWORK_DEFAULTS = {"interval_s": str(provisioning.DEFAULT_INTERVAL_S)}


def new_probe_page(request: Request, session: SessionDep) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    fields = [
        Field("probe_id", "probe_id", maxlength=32),
        Field("label", "label", required=False),
        owner(session, visit),
        *NETWORK_FIELDS,
    ]
    form = Form(
        "new_probe",
        "/admin/probes",
        fields,
        "create",
        values=dict(NETWORK_DEFAULTS),
        field_of={"conflict": "probe_id"},
    )
    return Page(session, visit, form, "admin/probe_new.html")


class NetworkRefused(Exception):
    """What is wrong with the network fields, by field (shown next to them)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


Networks = tuple[provisioning.Wifi, ...]


def network_of(values: dict[str, str], words: Mapping[str, str]) -> tuple[Networks, int]:
    """The WiFi networks and the interval typed (absent: the default interval), or
    NetworkRefused with what is wrong."""
    errors: dict[str, str] = {}
    wifi = []
    for ssid, password in (("wifi_ssid", "wifi_password"), ("wifi2_ssid", "wifi2_password")):
        name = values.get(ssid, "").strip()
        if name:
            wifi.append(provisioning.Wifi(name, values.get(password, "")))
        elif values.get(password):
            errors[ssid] = words["wifi_ssid_missing"]
    low, high = provisioning.INTERVAL_S
    text = values.get("interval_s", str(provisioning.DEFAULT_INTERVAL_S)).strip()
    interval = int(text) if text.isdigit() else 0
    if not low <= interval <= high:
        errors["interval_s"] = words["interval_bounds"]
    if errors:
        raise NetworkRefused(errors)
    return tuple(wifi), interval


def provisioned(
    request: Request,
    visit: Visitor,
    probe: Probe,
    wifi: Networks,
    interval_s: int,
    reset: bool,
) -> Response:
    """The once-shown page: a new broker password and the provisioning file. On a managed
    broker that already knows a newly registered probe (heard before), nothing is reset:
    the page says so and points to the reset action."""
    settings = request.app.state.settings
    context: dict[str, Any] = {"probe": probe, "managed": settings.mqtt.managed}
    problem = None
    if not reset and provisioning.has_account(settings, probe.probe_id):
        context["existing"] = True
    else:
        try:
            account = provisioning.set_account(settings, probe.probe_id)
            made = provisioning.provisioning(
                settings, probe.probe_id, account.password, wifi, interval_s
            )
        except (OSError, subprocess.CalledProcessError, ValueError) as failed:
            # No broker, no CA file, or (ValueError) the name of a service's account, which a
            # probe may not take (coldchain/broker.py set_password): said on the page.
            log.warning("probe %s: no broker account: %s", probe.probe_id, failed)
            problem = str(failed)
        else:
            context.update(
                account=account,
                made=made,
                config=made.files()[provisioning.CONFIG_NAME].decode(),
                download="data:application/zip;base64," + base64.b64encode(made.archive()).decode(),
            )
    context["problem"] = problem
    response = render(request, "admin/provisioning.html", visit, **context)
    response.headers["Cache-Control"] = "no-store"  # a password: never from a cache
    return response


async def answer_form(
    request: Request,
    build: Callable[[], Page],
    act: Callable[[dict[str, str], Page, Callable[[], tuple[Networks, int]]], Response],
) -> Response:
    """Like admin_forms.submit, but `act` answers with the page itself (the provisioning
    page, shown once) instead of a redirection. `act` reads the network fields, once the
    rest of the form is valid, through the function it is given."""

    def handle(values: dict[str, str]) -> Response:
        lang = i18n.page_language(request)
        page = build()
        status = 422
        try:
            return act(values, page, lambda: network_of(values, i18n.translator(lang)))
        except ValidationError as invalid:
            errors = errors_of(invalid, page.form, lang)
        except NetworkRefused as refused:
            errors = refused.errors
        except ApiError as refused:
            page.session.rollback()  # nothing half-done stays in the session
            errors, status = refusal(refused, page.form, lang), refused.status
        page.form.values, page.form.errors = values, errors
        return show(request, page, status)

    return await handle_form(request, handle)


@router.get("/new", response_class=HTMLResponse)
def new_probe(request: Request, session: SessionDep) -> Response:
    page = new_probe_page(request, session)
    heard = request.query_params.get("probe_id", "")
    if PROBE_ID_RE.fullmatch(heard):  # « Enregistrer cette sonde » of an unknown probe
        page.form.values["probe_id"] = heard
    return show(request, page)


@router.post("")
async def create_probe(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(
        values: dict[str, str], page: Page, network: Callable[[], tuple[Networks, int]]
    ) -> Response:
        body = ProbeIn.model_validate(filled(values, "probe_id", "label", "owner_id"))
        wifi, interval = network()
        probe = probes.create_probe(
            session,
            page.visit.viewer,
            probe_id=body.probe_id,
            label=body.label,
            owner_id=body.owner_id,
        )
        return provisioned(request, page.visit, probe, wifi, interval, reset=False)

    return await answer_form(request, lambda: new_probe_page(request, session), act)


def reset_page(request: Request, session: SessionDep, probe_pk: int) -> Page:
    """The confirmation of a password reset, with the network fields of the new file."""
    visit = role_page(request, session, Role.ADMIN)
    probe = visible_or_404(session, visit, Probe, probe_pk)
    form = Form(
        "reset_password",
        f"/admin/probes/{probe.id}/password",
        list(NETWORK_FIELDS),
        "reset_password_confirm",
        values=dict(NETWORK_DEFAULTS),
    )
    context = {"probe": probe, "back": f"/admin/probes/{probe.id}"}
    return Page(session, visit, form, "admin/probe_reset.html", context)


@router.get("/{probe_pk}/password", response_class=HTMLResponse)
def confirm_reset(probe_pk: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, reset_page(request, session, probe_pk))


@router.post("/{probe_pk}/password")
async def reset_password(
    probe_pk: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(
        _values: dict[str, str], page: Page, network: Callable[[], tuple[Networks, int]]
    ) -> Response:
        wifi, interval = network()
        probe: Probe = page.context["probe"]
        return provisioned(request, page.visit, probe, wifi, interval, reset=True)

    return await answer_form(request, lambda: reset_page(request, session, probe_pk), act)


def probe_page(
    request: Request,
    session: SessionDep,
    probe_pk: int,
    ending: bool = False,
    labelling: bool = False,
) -> Page:
    """The probe, where it was, its calibrations; its label form, the install form, and the
    end form of the installation in force. `ending` / `labelling`: that form is the one
    being submitted."""
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
    label = Form(
        "probe_label",
        f"/admin/probes/{probe.id}/label",
        [Field("label", "label", required=False, maxlength=200)],
        "save",
        values={"label": probe.label or ""},
    )
    newest_first = reversed(list(session.scalars(probes.calibrations(probe))))
    store = request.app.state.reading_store
    newest = sorted(store.latest([probe.probe_id]).values(), key=lambda r: r.channel)
    latest = [(r.channel, r.value, r.fault, from_ms(r.time_ms)) for r in newest]
    context: dict[str, Any] = {
        "probe": probe,
        "latest": latest,
        "history": history,
        "places": where,
        "calibrations": list(newest_first),
        "install": install,
        "end": end,
        "label": label,
    }
    form = end if ending and end is not None else label if labelling else install
    return Page(session, visit, form, "admin/probe.html", context)


@router.get("/{probe_pk}", response_class=HTMLResponse)
def probe(probe_pk: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, probe_page(request, session, probe_pk))


@router.post("/{probe_pk}/label")
async def relabel(
    probe_pk: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = ProbeLabelIn.model_validate(filled(values, "label"))
        probes.update_label(session, page.visit.viewer, probe_pk, body.label)
        return f"/admin/probes/{probe_pk}"

    return await submit(
        request, lambda: probe_page(request, session, probe_pk, labelling=True), act
    )


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
