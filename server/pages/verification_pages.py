"""The public verification page: a shop scans the QR code of a sealed delivery record (or
types its short code) and learns, without an account, whether that record exists, whether
it is intact, whether it is the latest version, and the verdict of each lot
(server/records/verification.py says what the public may see).

No enumeration: the code carries 80 bits of the record's hash, an unknown code gets the
same page whatever the reason (malformed, no such record, purged), and every check counts
against the per-address rate limit of the login (server/domain/sessions.py), answered with
429 and a French page when used up. The page is never cached nor indexed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from server.core.deps import SessionDep, SettingsDep
from server.core.models import utcnow
from server.domain import categories, sessions
from server.pages.i18n import page_language
from server.pages.web import render
from server.records import verification
from server.records.verdict import CONFORME, NON_CONFORME, TOLERE

router = APIRouter(include_in_schema=False)
NAV = ()  # public: linked from the PDFs, not from the menu

VERDICTS = {  # verdict -> (its word, the status colour of the pages, an icon)
    CONFORME: ("lots_verdict_conforme", "ok", "✓"),
    TOLERE: ("lots_verdict_ecart_tolere", "warning", "▲"),
    NON_CONFORME: ("lots_verdict_non_conforme", "over", "✖"),
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "same-origin",  # the code never leaves in a Referer
}


@router.get(verification.PAGE, response_class=HTMLResponse)
def form(
    request: Request, session: SessionDep, settings: SettingsDep, code: str | None = None
) -> Response:
    """The form to type a code; with `?code=`, the answer for it."""
    if code is None:
        return _page(request, "form", 200)
    return _answer(request, session, settings, code)


@router.get(verification.SHORT_PATH + "{code}", response_class=HTMLResponse)
def by_qr_code(request: Request, session: SessionDep, settings: SettingsDep, code: str) -> Response:
    """What the QR code of a record's PDF opens."""
    return _answer(request, session, settings, code)


def _answer(request: Request, session: SessionDep, settings: SettingsDep, typed: str) -> Response:
    allowed = sessions.record_check_allowed(
        session, settings, client_ip=sessions.client_address(request), now=utcnow()
    )
    if not allowed:
        return _page(request, "limited", 429)
    code = verification.normalise(typed[:100])
    checked = verification.check(session, code) if code else None
    if checked is None:
        return _page(request, "unknown", 404)  # the same page whatever the reason
    lang = page_language(request)
    names = {c: categories.name(c, lang) for c in categories.profiles()}
    lots = []
    for lot in checked.lots:
        word, css, icon = VERDICTS.get(lot.verdict, (lot.verdict, "none", "?"))
        lots.append(
            {
                "reference": lot.reference,
                "category": names.get(lot.category, lot.category_fr),
                "verdict": lot.verdict,
                "word": word,
                "css": css,
                "icon": icon,
            }
        )
    return _page(
        request,
        checked.state,
        200,
        checked=checked,
        code=verification.grouped(checked.code),
        newer_code=checked.newer_code,
        lots=lots,
    )


def _page(request: Request, state: str, status: int, **context: object) -> Response:
    response = render(
        request,
        "verification.html",
        None,
        status,
        state=state,
        page=verification.PAGE,
        short_path=verification.SHORT_PATH,
        **context,
    )
    response.headers.update(HEADERS)
    return response
