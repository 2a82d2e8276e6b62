"""The hygiene officer's inspection export (the API's POST /api/v1/records/inspection-export,
server/records/inspection.py) as a page: a form (days in Brussels time, the vans and cold
rooms the officer may see), then the ZIP built by a background job with its progress
(server/records/export_jobs.py: kept in the database, their files, their upkeep), polled by
static/inspection.js. Without JavaScript the same form post waits for the file and returns
it directly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from coldchain import clock
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.core.models import Role
from server.domain.categories import profiles
from server.domain.fleet import seen_by
from server.pages import i18n
from server.pages.web import (
    CsrfChecked,
    NavLink,
    PageRefused,
    Visitor,
    allowed_visitor,
    render,
    see_other,
)
from server.records import export_jobs, inspection
from server.records.export_jobs import DONE, FAILED, JobView, TooManyJobs

router = APIRouter(prefix="/inspection", include_in_schema=False)
JOB_ID = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() takes « ² » and « ١ »
NAV = (NavLink(Role.HYGIENE_OFFICER, "/inspection", "inspection"),)


def staff_page(request: Request, session: Session) -> Visitor:
    """The export is for the cooperative's hygiene officer (and admin), as in the API."""
    return allowed_visitor(request, session, lambda visit: bool(visit.viewer.staff_coops))


def show_form(
    request: Request,
    session: Session,
    visit: Visitor,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    max_days = request.app.state.settings.records.max_export_days
    seen = seen_by(session, visit.viewer)
    return render(
        request,
        "inspection.html",
        visit,
        status_code,
        form=form,
        errors=errors or {},
        max_days=max_days,
        vans=seen.vans,
        zones=seen.zones,
        rooms=seen.rooms,
    )


@router.get("", response_class=HTMLResponse)
def inspection_form(request: Request, session: SessionDep) -> Response:
    visit = staff_page(request, session)
    today = clock.utcnow().astimezone(clock.zone()).date()
    form = {"first_day": (today - timedelta(days=30)).isoformat(), "last_day": today.isoformat()}
    return show_form(request, session, visit, {**form, "vans": [], "rooms": []})


def parse_day(text: str) -> date | None:
    """A date field: ISO (what browsers send) or « jj/mm/aaaa » typed by hand."""
    for layout in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip()[:20], layout).date()
        except ValueError:
            continue
    return None


def midnight(day: date) -> datetime:
    """The start of a Brussels calendar day, in UTC (how times are stored and asked)."""
    return clock.day_start(day)


def ids(values: list[str]) -> list[int] | None:
    """Ticked checkbox values; None if one is not an id (a tampered form)."""
    if not all(v.isdigit() and len(v) < 10 for v in values):
        return None
    return [int(v) for v in values]


def check(
    form: dict[str, Any], words: Mapping[str, str], max_days: int, lang: str = "fr"
) -> tuple[dict[str, str], inspection.InspectionRequest | None]:
    """The form's mistakes, each by its field, in the page's language."""
    errors: dict[str, str] = {}
    first, last = parse_day(form["first_day"]), parse_day(form["last_day"])
    for name, day in (("first_day", first), ("last_day", last)):
        if day is None:
            errors[name] = words["date_invalid"]
    if first is not None and last is not None:
        asked = (last - first).days + 1
        if asked < 1:
            errors["last_day"] = words["end_before_start"]
        elif asked > max_days:
            errors["last_day"] = words["period_too_long"].format(days=max_days, asked=asked)
    vans, rooms = ids(form["vans"]), ids(form["rooms"])
    if vans is None or rooms is None:
        errors["locations"] = words["location_unknown"]
    elif not vans and not rooms:
        errors["locations"] = words["choose_location"]
    if errors or first is None or last is None or vans is None or rooms is None:
        return errors, None
    end = midnight(last + timedelta(days=1))
    # The documents' language (an FAVV inspector gets Dutch); the page's when none is chosen.
    doc_lang = form.get("doc_lang") if form.get("doc_lang") in i18n.LANGUAGES else lang
    return errors, inspection.InspectionRequest(
        midnight(first), end, tuple(vans), tuple(rooms), lang=str(doc_lang)
    )


@router.post("", response_class=HTMLResponse)
async def start_export(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    raw = await request.form()  # the CSRF token was checked first (server/pages/web.py)
    form = {
        "first_day": str(raw.get("first_day") or ""),
        "last_day": str(raw.get("last_day") or ""),
        "vans": [str(v) for v in raw.getlist("van")][:200],
        "rooms": [str(v) for v in raw.getlist("room")][:200],
        "doc_lang": str(raw.get("doc_lang") or ""),  # the documents' language
        "background": raw.get("background") == "1",  # set by static/inspection.js
    }
    # The database work is blocking: off the event loop, like FastAPI's own sync routes.
    return await run_in_threadpool(_start, request, session, form)


def _start(request: Request, session: Session, form: dict[str, Any]) -> Response:
    visit = staff_page(request, session)
    lang = i18n.page_language(request)
    words = i18n.translator(lang)
    max_days = request.app.state.settings.records.max_export_days
    errors, wanted = check(form, words, max_days, lang)
    places: list[Any] = []
    if wanted is not None:
        try:  # the API's own checks: tenancy (404 for what one may not see) and limits
            places = inspection.locations(session, visit.viewer, wanted, profiles(), max_days)
        except ApiError as refused:
            field = "locations" if refused.status == 404 else "last_day"
            text = i18n.refusal(refused, lang)
            errors[field] = words["location_unknown"] if refused.status == 404 else text
    if errors or wanted is None:
        return show_form(request, session, visit, form, errors, 422)
    try:
        job_id = export_jobs.start_inspection(  # in the request's session: its write lock
            request.app, visit.user.id, visit.viewer, wanted, places, session
        )
    except TooManyJobs as busy:
        errors["form"] = words["too_many_exports"].format(limit=busy.limit)
        return show_form(request, session, visit, form, errors, 429)
    if form["background"]:
        return see_other(f"/inspection/jobs/{job_id}")
    export_jobs.of(request.app).wait(job_id)  # no script: the browser waits, as with the API
    return download(request, session, str(job_id))


def own_job(request: Request, session: Session, job_id: str) -> tuple[Visitor, JobView]:
    visit = staff_page(request, session)
    job = None
    if JOB_ID.fullmatch(job_id):  # anything else (« ² », « 1 OR 1=1 ») is no job id at all
        job = export_jobs.of(request.app).get(int(job_id), visit.user.id)
    if job is None:  # someone else's job answers like one that does not exist
        raise PageRefused(404, visit)
    return visit, job


def job_status(job: JobView, lang: str) -> dict[str, Any]:
    words = i18n.translator(lang)
    percent = 100 if job.state == DONE else min(99, int(job.fraction * 100))
    shown = f"{percent}\u202f%" if lang == "fr" else f"{percent}%"
    if job.downloadable:
        text = f"✓ {words['export_done']}{size(job, lang)}"
    elif job.state == DONE:  # ready once, its file removed since
        text = words["file_deleted"].format(at=i18n.local_time(job.file_deleted_at, lang))
    elif job.state == FAILED:
        text = f"✖ {words['export_failed']} {job.reason(lang)}"
    else:
        text = f"▶ {words['export_running']} {shown} {words['done_share']}"
    download_url = f"/inspection/jobs/{job.id}/download" if job.downloadable else None
    return {
        "state": job.state,
        "percent": percent,
        "percent_text": shown,
        "text": text,
        "download": download_url,
    }


def size(job: JobView, lang: str) -> str:
    """« (1,2 Mo) »; nothing if the file just went (removed meanwhile)."""
    n = job.size()
    if n is None:
        return ""
    value, unit = (n / 1_000_000, "Mo" if lang == "fr" else "MB")
    if n < 1_000_000:
        value, unit = n / 1000, "ko" if lang == "fr" else "kB"
    return f" ({i18n.number(f'{value:.1f}', lang)} {unit})"


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, session: SessionDep) -> Response:
    visit, job = own_job(request, session, job_id)
    return show_job(request, visit, job)


def show_job(request: Request, visit: Visitor, job: JobView, status_code: int = 200) -> Response:
    status = job_status(job, i18n.page_language(request))
    keep = request.app.state.settings.records.export_keep_hours
    return render(
        request, "inspection.html", visit, status_code, job=job, status=status, keep_hours=keep
    )


@router.get("/jobs/{job_id}/status")
def job_state(job_id: str, request: Request, session: SessionDep) -> Response:
    """What static/inspection.js polls: state, percentage, text, download link."""
    try:
        _visit, job = own_job(request, session, job_id)
    except PageRefused:
        return JSONResponse({"state": "missing"}, status_code=404)
    return JSONResponse(job_status(job, i18n.page_language(request)))


@router.get("/jobs/{job_id}/download")
def download(request: Request, session: SessionDep, job_id: str) -> Response:
    visit, job = own_job(request, session, job_id)
    if not job.downloadable or job.path is None:
        # failed: the server's fault, said so; done: its file removed since (410 Gone)
        codes: dict[str, int] = {FAILED: 500, DONE: 410}
        code = codes.get(job.state, 409)
        return show_job(request, visit, job, code)
    # Kept for export_keep_hours after it was ready (server/records/export_jobs.py).
    return FileResponse(job.path, media_type="application/zip", filename=job.filename)
