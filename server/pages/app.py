"""Mount the pages on the server: `mount(app)` from server/app.py."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from server.pages import admin_pages, alert_pages, delivery_pages, inspection_pages, lot_pages
from server.pages import home_pages as routes
from server.pages.web import HERE, CsrfRefused, NeedLogin, PageRefused, render, see_other


def mount(app: FastAPI) -> None:
    for module in (routes, alert_pages, admin_pages, inspection_pages, delivery_pages, lot_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="pages-static")

    @app.exception_handler(NeedLogin)
    async def need_login(_request: Request, _exc: NeedLogin) -> Response:
        return see_other("/login")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return render(request, "refused.html", None, 403, word="csrf_refused")

    @app.exception_handler(PageRefused)
    async def refused(request: Request, exc: PageRefused) -> Response:
        word = "forbidden" if exc.status == 403 else "page_not_found"
        return render(request, "refused.html", exc.visit, exc.status, word=word)
