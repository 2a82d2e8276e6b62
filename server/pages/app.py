"""Mount the pages on the server: `mount(app)` from server/app.py.

PAGES is the one list of page modules. A page module has a `router` (its routes) and `NAV`
(its links in the header's menu, by role: server/pages/web.py NavLink); its template is in
templates/, its words in the `pages` catalogue (server/locale/<lang>/LC_MESSAGES/pages.po,
every language). Adding a page: write the module and its template, add its words to the
catalogues, add the module here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from server.pages import (
    admin_organisations,
    admin_pages,
    admin_probes,
    alert_pages,
    delivery_pages,
    home_pages,
    inspection_pages,
    live_pages,
    lot_pages,
    verification_pages,
)
from server.pages.web import (
    HERE,
    CsrfRefused,
    LoginFormExpired,
    NavLink,
    NeedLogin,
    PageRefused,
    menu,
    render,
    see_other,
)


class PageModule(Protocol):
    """What a page module exposes (mypy checks each module of PAGES against it)."""

    @property
    def router(self) -> APIRouter: ...
    @property
    def NAV(self) -> Sequence[NavLink]: ...


# In this order the routers are included and, within a role, the menu lists the links.
PAGES: tuple[PageModule, ...] = (
    home_pages,
    delivery_pages,
    lot_pages,
    alert_pages,
    live_pages,
    inspection_pages,
    admin_pages,
    admin_organisations,
    admin_probes,
    verification_pages,
)


def mount(app: FastAPI) -> None:
    for page in PAGES:
        app.include_router(page.router)
    app.state.page_menu = menu(link for page in PAGES for link in page.NAV)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="pages-static")

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        # At the root: a service worker controls only the pages under its own folder.
        # no-cache: the browser asks for it again on each visit, so a new one is taken up.
        sw = HERE / "static" / "sw.js"
        return FileResponse(sw, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(NeedLogin)
    async def need_login(_request: Request, _exc: NeedLogin) -> Response:
        return see_other("/login")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return render(request, "refused.html", None, 403, word="csrf_refused")

    @app.exception_handler(LoginFormExpired)
    async def login_form_expired(request: Request, _exc: LoginFormExpired) -> Response:
        return home_pages.login_form_again(request, (await request.form()).get("email"))

    @app.exception_handler(PageRefused)
    async def refused(request: Request, exc: PageRefused) -> Response:
        word = "forbidden" if exc.status == 403 else "page_not_found"
        return render(request, "refused.html", exc.visit, exc.status, word=word)
