"""The application factory: `create_app(settings)` wires database, reading store,
authentication, error bodies and routes. Later features add routers and state here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from coldchain import __version__, clock
from coldchain.backups import backup_folder
from coldchain.readingstore.base import ReadingStore
from coldchain.readingstore.registry import make_reading_store
from coldchain.settings import Settings, load_settings
from server.alerting import in_server
from server.api import (
    alert_stream,
    alerts,
    auth,
    cold_rooms,
    deliveries,
    grafana,
    organisations,
    probes,
    producer_records,
    readings,
    records,
    users,
    vans,
)
from server.core import errors, languages
from server.core.bodyguard import BodyGuard
from server.core.db import make_engine, make_sessionmaker, migrate
from server.core.secure_cookies import SecureCookiesOverHttps
from server.core.security import dummy_hash, password_hasher
from server.pages import app as pages
from server.records import config as documents
from server.records import export_jobs, sealing_timer

API_PREFIX = "/api/v1"

DESCRIPTION = """Cold-chain registry and deliveries for cooperatives sharing vans.

Authenticate with `POST /api/v1/auth/login`, then send `Authorization: Bearer <token>`
(pages use the session cookie set by the same call). Errors always have the body
`{"error": {"code": ..., "message": ..., "details": ...}}`; `message` is in the caller's
language: `?lang=`, the pages' cookie, the signed-in user's stored choice, `Accept-Language`
(fr, nl, en), then the site's default. Times are UTC (ISO 8601 with offset).
"""


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=errors.ERROR_RESPONSES)
    # The one list of API route modules. The alert stream comes before the alerts so
    # that `/alerts/stream` is not taken for `/alerts/{id}`.
    for module in (
        auth, users, organisations, vans, cold_rooms, probes, deliveries, readings,
        alert_stream, alerts, records, producer_records, grafana,
    ):  # fmt: skip
        router.include_router(module.router)
    return router


def create_app(
    settings: Settings | None = None, reading_store: ReadingStore | None = None
) -> FastAPI:
    settings = settings or load_settings()
    clock.configure(settings.clock)
    documents.configure(settings)  # the QR codes' address, the plan's retention
    engine = make_engine(settings.server.database_url)
    if settings.server.migrate_on_start:
        migrate(engine, backup_dir=backup_folder(settings))
    store = reading_store if reading_store is not None else make_reading_store(settings.store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = in_server.start_worker(_app)  # only if alerting.in_server
        sealer = sealing_timer.start(_app)  # unless records.seal_every_s is 0
        exports = export_jobs.start(_app)  # the pages' background exports: upkeep
        yield
        exports.stop()  # its running jobs are marked interrupted
        if sealer is not None:
            sealer.stop()
        in_server.stop_worker(worker)
        if reading_store is None:  # we opened it, we close it
            store.close()
        engine.dispose()

    app = FastAPI(
        title="Coldchain server",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.reading_store = store
    app.state.default_language = settings.server.default_language
    app.state.password_hasher = password_hasher(settings.server)
    app.state.dummy_hash = dummy_hash(app.state.password_hasher)
    errors.install(app, languages.api_language)  # the pages' choice of language first
    app.include_router(api_router())
    pages.mount(app)  # server-rendered pages (server/pages/)

    @app.get("/healthz", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    app.add_middleware(
        BodyGuard,
        max_bytes=settings.server.max_body_bytes,
        default_language=settings.server.default_language,
    )
    # Inside the proxy headers: sees the scheme a trusted proxy forwarded (docs/https.md).
    app.add_middleware(SecureCookiesOverHttps)
    if settings.server.forwarded_allow_ips:
        # Outermost: every part (the login's per-address limit first) sees the client that
        # a trusted proxy forwarded; anyone else's X-Forwarded-For is ignored.
        app.add_middleware(
            ProxyHeadersMiddleware, trusted_hosts=settings.server.forwarded_allow_ips
        )
    return app
