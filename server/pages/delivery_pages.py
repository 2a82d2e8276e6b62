"""The driver's delivery pages: today's deliveries, and one delivery with its stops, its
loads, the departure check form, a handover form at the next stop, and the close button.

The forms turn what was typed into the API's own schemas (server/schemas/deliveries.py)
and call the domain services the API calls (server/domain/deliveries.py; closing through
server/records/sealing.py, which also seals): the rules, the checks, the clock and the commit
are the same as the API's. The page only says their refusals in the page's language, next to
the field they concern."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from coldchain import clock
from server.core.access import STAFF, can_operate
from server.core.deps import SessionDep, StoreDep
from server.core.errors import ApiError, message
from server.core.models import Delivery, Role, Zone, utcnow
from server.core.validation_fr import problem
from server.domain import deliveries
from server.pages import delivery_view, i18n, replay
from server.pages.delivery_view import Problems
from server.pages.web import (
    CsrfChecked,
    NavLink,
    PageRefused,
    Visitor,
    allowed_visitor,
    decimal,
    handle_form,
    render,
    see_other,
    visible_or_404,
)
from server.records.sealing import close_and_seal
from server.schemas.common import IdPath
from server.schemas.deliveries import DepartureIn, HandoverIn, ZoneCheckIn

router = APIRouter(include_in_schema=False)
NAV = (NavLink(Role.DRIVER, "/deliveries", "dlv_today"),)


def operator_page(request: Request, session: SessionDep) -> Visitor:
    """Drivers and the cooperatives' staff; others are told it is not for their role."""
    return allowed_visitor(
        request, session, lambda visit: bool(visit.viewer.orgs_with(Role.DRIVER, *STAFF))
    )


@router.get("/deliveries", response_class=HTMLResponse)
def today(request: Request, session: SessionDep) -> Response:
    """The deliveries of today (the site's calendar day) the user drives or plans."""
    visit = operator_page(request, session)
    day = utcnow().astimezone(clock.zone()).date()
    rows = session.execute(
        deliveries.seen_with_van_and_driver(visit.viewer)
        .where(Delivery.day == day)
        .order_by(Delivery.id)
    ).all()
    return render(request, "delivery_list.html", visit, rows=rows, day=day)


def show(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    visit: Visitor,
    delivery_id: int,
    problems: Problems | None = None,
    status_code: int = 200,
) -> Response:
    delivery = visible_or_404(session, visit, Delivery, delivery_id)
    lang = i18n.page_language(request)
    may = can_operate(visit.viewer, delivery)
    file = deliveries.file_of(session, delivery)
    view = delivery_view.build(session, store, file, may, utcnow(), lang)
    if problems is not None:  # an error about a field the page does not draw: at the top
        drawn = view.drawn_fields(problems)
        colon = i18n.translator(lang)["sep_colon"]
        for key in [k for k in problems.fields if k not in drawn]:
            problems.general.append(key + colon + problems.fields.pop(key))
    return render(
        request,
        "delivery.html",
        visit,
        status_code,
        view=view,
        d=delivery,
        problems=problems or Problems(form=""),
    )


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
def delivery_page(
    delivery_id: IdPath, request: Request, session: SessionDep, store: StoreDep
) -> Response:
    return show(request, session, store, operator_page(request, session), delivery_id)


# What a form does: build the API's schema from what was typed, call the domain service.
Act = Callable[[Visitor, dict[str, str], str, Problems], None]
# What the page does with one of the API's refusals: fill `problems` (by field if it can).
Placer = Callable[[ApiError, Problems, Mapping[str, str], str], None]


async def submit(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    delivery_id: int,
    problems: Problems,
    act: Act,
    place: Placer,
) -> Response:
    """Do what the form says (`act`); back to the delivery, or the delivery again with its
    problems next to the fields they concern (`place` puts the domain's refusals)."""

    def handle(values: dict[str, str]) -> Response:
        problems.values = values
        visit = operator_page(request, session)
        lang = i18n.page_language(request)
        words = i18n.translator(lang)
        try:
            act(visit, problems.values, lang, problems)
        except ApiError as refused:
            if refused.status in (403, 404):  # no rollback: it would expire the visitor's rows
                raise PageRefused(refused.status, visit) from refused  # the session closes unsaved
            session.rollback()
            place(refused, problems, words, lang)
            return show(request, session, store, visit, delivery_id, problems, refused.status)
        if problems.fields or problems.general:  # the page's own checks of what was typed
            return show(request, session, store, visit, delivery_id, problems, 422)
        return see_other(f"/deliveries/{delivery_id}")

    return await handle_form(request, replay.once(request, session, handle), longest=1000)


def general(refused: ApiError, problems: Problems, lang: str) -> None:
    problems.general.append(i18n.refusal(refused, lang))


def depart_act(delivery_id: int, session: SessionDep, store: StoreDep) -> Act:
    def act(visit: Visitor, form: dict[str, str], lang: str, problems: Problems) -> None:
        zones = []
        for key, text in form.items():
            zone_id = key.removeprefix("temperature_")
            if key == zone_id or decimal(text) is None:
                continue  # not a zone field, or left empty: the readings' temperature
            try:
                zones.append(
                    ZoneCheckIn.model_validate({"zone_id": zone_id, "temperature_c": decimal(text)})
                )
            except ValidationError as invalid:
                problems.fields[key] = "; ".join(problem(e, lang) for e in invalid.errors())
        if not problems.fields:
            report = DepartureIn(zones=zones)
            deliveries.depart(session, store, visit.viewer, delivery_id, report, utcnow())

    return act


def depart_refused(session: SessionDep, delivery_id: int) -> Placer:
    """A zone's refusal goes next to that zone's field (the rule names the zone)."""

    def place(refused: ApiError, problems: Problems, words: Mapping[str, str], lang: str) -> None:
        zone_id = session.scalar(
            select(Zone.id)
            .join(Delivery, Delivery.van_id == Zone.van_id)
            .where(Delivery.id == delivery_id, Zone.name == str(refused.params.get("zone")))
        )
        key = f"temperature_{zone_id}"
        if zone_id is not None and refused.code == "departure_check_failed":
            problems.fields[key] = words["dlv_zone_refused"].format(
                temperature=i18n.celsius(refused.params["temperature"].value, lang),
                limit=i18n.celsius(refused.params["limit"].value, lang),
            )
        elif zone_id is not None and refused.code == "no_zone_reading":
            problems.fields[key] = words["dlv_no_reading"]
        else:
            general(refused, problems, lang)

    return place


@router.post("/deliveries/{delivery_id}/departure")
async def departure(
    delivery_id: IdPath,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfChecked,
) -> Response:
    problems = Problems(form="departure")
    act = depart_act(delivery_id, session, store)
    place = depart_refused(session, delivery_id)
    return await submit(request, session, store, delivery_id, problems, act, place)


def handover_act(delivery_id: int, stop_id: int, session: SessionDep, store: StoreDep) -> Act:
    def act(visit: Visitor, form: dict[str, str], lang: str, problems: Problems) -> None:
        decisions = []
        for key, choice in form.items():
            load_id = key.removeprefix("decision_")
            if key == load_id or choice not in ("accept", "refuse"):
                continue  # no choice made: the lifecycle says which loads lack one
            reason = form.get(f"reason_{load_id}", "").strip()
            decisions.append(
                {"load_id": load_id, "accepted": choice == "accept", "reason": reason or None}
            )
        try:
            body = HandoverIn.model_validate(
                {
                    "receiver_name": form.get("receiver_name", "").strip() or None,
                    "core_temperature_c": decimal(form.get("core_temperature_c", "")),
                    "decisions": decisions,
                }
            )
        except ValidationError as invalid:
            for e in invalid.errors():
                loc = e["loc"]
                if loc[:1] == ("decisions",) and len(loc) > 2 and isinstance(loc[1], int):
                    which = "reason" if loc[2] == "reason" else "decision"
                    key = f"{which}_{decisions[loc[1]]['load_id']}"
                else:
                    key = str(loc[0]) if loc else "form"
                problems.fields[key] = problem(e, lang)
            return
        deliveries.hand_over(session, store, visit.viewer, delivery_id, stop_id, body, utcnow())

    return act


def handover_refused(
    refused: ApiError, problems: Problems, words: Mapping[str, str], lang: str
) -> None:
    form = problems.values
    if refused.code == "handover_incomplete":
        for load_id in str(refused.params.get("missing", "")).split(", "):
            problems.fields[f"decision_{load_id}"] = words["dlv_choose"]
    elif refused.code == "refusal_needs_reason":
        text = message(refused.code, lang, refused.params)
        for key, choice in form.items():
            load_id = key.removeprefix("decision_")
            if key != load_id and choice == "refuse" and not form.get(f"reason_{load_id}", ""):
                problems.fields[f"reason_{load_id}"] = text
    else:
        general(refused, problems, lang)


@router.post("/deliveries/{delivery_id}/stops/{stop_id}/handover")
async def handover(
    delivery_id: IdPath,
    stop_id: IdPath,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfChecked,
) -> Response:
    problems = Problems(form="handover", stop_id=stop_id)
    act = handover_act(delivery_id, stop_id, session, store)
    return await submit(request, session, store, delivery_id, problems, act, handover_refused)


@router.post("/deliveries/{delivery_id}/close")
async def close(
    delivery_id: IdPath,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    _csrf: CsrfChecked,
) -> Response:
    def act(visit: Visitor, _form: dict[str, str], _lang: str, _problems: Problems) -> None:
        close_and_seal(session, store, visit.viewer, delivery_id, None, utcnow())

    def refused(error: ApiError, problems: Problems, _words: Mapping[str, str], lang: str) -> None:
        general(error, problems, lang)

    return await submit(request, session, store, delivery_id, Problems(form="close"), act, refused)
