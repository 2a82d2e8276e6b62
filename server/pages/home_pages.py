"""The pages: login/logout, language switch, and one home per role. Alert pages
(acknowledge, corrective action, review) are in server/pages/alert_pages.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from server.core.access import (
    cold_room_windows,
    visible_probes,
)
from server.core.deps import SessionDep, SettingsDep, StoreDep
from server.core.errors import ApiError
from server.core.models import (
    Delivery,
    Installation,
    Membership,
    Organisation,
    Probe,
    Role,
    User,
    utcnow,
)
from server.core.models.records import SealedRecord
from server.core.validation_fr import problem
from server.domain import fleet, reading_conflicts, sessions, unknown_probes, users
from server.domain.deliveries import seen_with_van_and_driver
from server.domain.place_readings import Place
from server.domain.place_readings import series as readings_of
from server.pages import admin_organisations, charts, i18n, live_pages
from server.pages.admin_forms import places
from server.pages.web import (
    CsrfChecked,
    LoginCsrfChecked,
    NavLink,
    NeedLogin,
    PageRefused,
    Visitor,
    allowed_visitor,
    home_of,
    render,
    see_other,
    visitor,
)
from server.schemas.auth import LoginIn
from server.schemas.common import EMAIL_MAX_LENGTH

router = APIRouter(include_in_schema=False)
NAV = (
    NavLink(Role.DRIVER, "/driver", "my_truck"),
    NavLink(Role.PRODUCER, "/producer", "my_rooms"),
    NavLink(Role.HYGIENE_OFFICER, "/hygiene", "review"),
    NavLink(Role.ADMIN, "/admin", "admin"),
)


def role_page(request: Request, session: SessionDep, role: str) -> Visitor:
    """The visitor if they hold `role` somewhere (else the 403 page). The admin pages: the
    superuser acting in a cooperative holds its admin role there
    (server/pages/admin_organisations.py `admin_visitor`)."""
    if role == Role.ADMIN:
        visit = admin_organisations.admin_visitor(request, session)
        if not visit.has_role(Role.ADMIN):
            raise PageRefused(403, visit)
        return visit
    return allowed_visitor(request, session, lambda visit: visit.has_role(role))


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> Response:
    try:
        return see_other(home_of(visitor(request, session)))
    except NeedLogin:
        return see_other("/login")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", None, email="", error=None)


def login_form_again(request: Request, email: object) -> Response:
    """The login form refused for its token (web.py `LoginFormExpired`): the form again,
    with a fresh token and the e-mail as typed (cut to an address's length), not a dead end."""
    kept = email[:EMAIL_MAX_LENGTH] if isinstance(email, str) else ""
    expired = i18n.translator(i18n.page_language(request))["login_expired"]
    return render(request, "login.html", None, 403, email=kept, error=expired)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _csrf: LoginCsrfChecked,
    email: Annotated[str, Form()] = "",  # bounds: LoginIn (a French message, not a JSON 422)
    password: Annotated[str, Form()] = "",
) -> Response:
    """The API's login (server/domain/sessions.py: same rate limit, same cookie), then
    the user's home page."""
    lang = i18n.page_language(request)
    words = i18n.translator(lang)
    try:
        body = LoginIn(email=email, password=password)
    except ValidationError as invalid:
        error = "; ".join(
            str(words.get(str(e["loc"][0]), e["loc"][0])) + words["sep_colon"] + problem(e, lang)
            for e in invalid.errors()
        )
        return render(request, "login.html", None, 422, email=email, error=error)
    try:
        signed_in = sessions.login_request(
            request, session, settings, email=body.email, password=body.password
        )
    except ApiError as refused:
        key = "too_many_attempts" if refused.status == 429 else "invalid_credentials"
        error = words[key].format(**refused.params)  # the seconds to wait, when refused
        return render(request, "login.html", None, refused.status, email=email, error=error)
    redirect = see_other("/")
    sessions.set_cookie(redirect, settings, signed_in)
    i18n.remember(redirect, i18n.stored_language(session, body.email))  # their own choice
    return redirect


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, _csrf: CsrfChecked
) -> Response:
    try:
        visit = visitor(request, session)
    except NeedLogin:
        return see_other("/login")
    sessions.logout(session, visit.access, utcnow())
    redirect = see_other("/login")
    sessions.clear_cookie(redirect, settings)
    redirect.delete_cookie(admin_organisations.ACTING_COOKIE)
    return redirect


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, session: SessionDep) -> Response:
    back = request.headers.get("referer", "/")
    host = f"{request.url.scheme}://{request.url.netloc}/"
    redirect = see_other(back if back.startswith(host) else "/")  # never an open redirect
    if code in i18n.LANGUAGES:
        i18n.remember(redirect, code)
        i18n.store_choice(request, session, code)  # signed in: their next login follows it
    return redirect


@router.get("/driver", response_class=HTMLResponse)
def driver(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role_page(request, session, Role.DRIVER)
    context = live_pages.driver_parts(request, session, store, visit)
    return render(request, "driver.html", visit, **context)


@router.get("/producer", response_class=HTMLResponse)
def producer(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role_page(request, session, Role.PRODUCER)
    lang = i18n.page_language(request)
    context = live_pages.producer_parts(request, session, store, visit)
    now = context["now"]
    charts_of = {}
    for room, current in context["rooms_now"]:
        windows = cold_room_windows(session, visit.viewer, room.id)
        place = Place(cold_room_id=room.id)
        limit_c = current.limit.max_c if current.limit else None
        drawn = []
        for days, word in ((1, "chart_24h"), (7, "chart_7d")):
            start = now - timedelta(days=days)
            series = readings_of(session, store, place, windows, start, now)
            title = f"{room.name} — {i18n.translator(lang)[word]}"
            drawn.append((word, charts.svg_chart(series, start, now, limit_c, lang, title)))
        charts_of[room.id] = drawn
    return render(request, "producer.html", visit, charts_of=charts_of, **context)


@router.get("/hygiene", response_class=HTMLResponse)
def hygiene(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role_page(request, session, Role.HYGIENE_OFFICER)
    deliveries = session.execute(
        seen_with_van_and_driver(visit.viewer)
        .order_by(Delivery.day.desc(), Delivery.id.desc())
        .limit(100)
    ).all()
    records: dict[int, SealedRecord] = {}
    for record in session.scalars(
        select(SealedRecord)
        .where(SealedRecord.delivery_id.in_([d.id for d, _, _ in deliveries]))
        .order_by(SealedRecord.version)
    ):
        records[record.delivery_id] = record  # the newest version of each delivery's record
    return render(
        request,
        "hygiene.html",
        visit,
        deliveries=deliveries,
        records=records,
        **live_pages.hygiene_parts(request, session, store, visit),
    )


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = admin_organisations.admin_visitor(request, session)
    viewer = visit.viewer
    seen = fleet.seen_by(session, viewer)
    probes = session.execute(
        select(Probe, Installation)
        .outerjoin(Installation, (Installation.probe_id == Probe.id) & Installation.end.is_(None))
        .where(visible_probes(viewer))
        .order_by(Probe.probe_id)
    ).all()
    admin_orgs = viewer.orgs_with(Role.ADMIN)
    superuser: dict[str, Any] = {}
    administered = list(
        session.scalars(
            select(Organisation).where(Organisation.id.in_(admin_orgs)).order_by(Organisation.name)
        )
    )
    if viewer.is_superuser:  # the installation's account: the organisations, everyone
        admin_orgs = set(users.managed_organisations(session, viewer))
        superuser = {
            "organisations": admin_organisations.listing(session, visit),
            "organisation_form": admin_organisations.organisation_form(request),
            "acting": admin_organisations.acting_in(request, session, visit),
        }
    members = session.execute(
        select(User, Membership, Organisation)
        .join(Membership, Membership.user_id == User.id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.organisation_id.in_(admin_orgs))
        .order_by(User.full_name, Membership.role)
    ).all()
    return render(
        request,
        "admin.html",
        visit,
        vans=seen.vans,
        zones=seen.zones,
        rooms=seen.rooms,
        probes=probes,
        places=places(seen),
        members=members,
        administered=administered,  # « Modifier, membres » of each organisation they run
        unknown=unknown_probes.listing(session),  # ids heard that nobody registered
        # Vans, rooms, probes: the domain services leave them to the organisations' admins.
        fleet_shown=visit.has_role(Role.ADMIN),
        # Two values for one instant from their probes: broken or spoofed (first write wins).
        conflicts=reading_conflicts.recent(session, store, viewer, reading_conflicts.LIMIT)
        if visit.has_role(Role.ADMIN)
        else None,
        conflicts_limit=reading_conflicts.LIMIT,
        **superuser,
    )
