"""Wiring into the server: the alert routes (SSE first: `/alerts/stream` before
`/alerts/{id}`), and the worker inside the server process when `alerting.in_server`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from server.alerting.worker import AlertWorker
from server.api import alert_stream as sse
from server.api import alerts as routes

router = APIRouter()
router.include_router(sse.router)
router.include_router(routes.router)


def start_worker(app: FastAPI) -> AlertWorker | None:
    if not app.state.settings.alerting.in_server:
        return None
    worker = AlertWorker(app.state.settings)  # its own connections: server/alerting/db.py
    worker.start()
    app.state.alert_worker = worker
    return worker


def stop_worker(worker: AlertWorker | None) -> None:
    if worker is not None:
        worker.stop()
