"""The alert worker inside the server process, when `alerting.in_server` (one process to
run on a small machine; `coldchain alerts run` is the separate process otherwise)."""

from __future__ import annotations

from fastapi import FastAPI

from server.alerting.worker import AlertWorker


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
