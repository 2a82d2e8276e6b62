"""`coldchain alert-worker`: the alert worker as its own process (restart it with a
supervisor; its stable client id gets the readings queued while it was down)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from coldchain.startup import settings_or_exit

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "alert-worker", help="judge readings from the broker, raise alerts, notify people"
    )
    parser.add_argument("--client-id", help="MQTT client id (default: alerting.client_id)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from server.alerting.worker import AlertWorker, AnotherWorkerRunning
    from server.core.db import make_engine, migrate

    settings = settings_or_exit(args.config)
    if args.client_id:
        settings.alerting.client_id = args.client_id
    engine = make_engine(settings.server.database_url)
    if settings.server.migrate_on_start:
        from coldchain.backups import backup_folder

        migrate(engine, backup_dir=backup_folder(settings))  # a copy first (docs/operations.md)
    engine.dispose()
    worker = AlertWorker(settings)
    stopping = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        worker.start()
    except AnotherWorkerRunning as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 2
    if worker.mqtt.subscribed.wait(30):
        print(f"alert worker ready ({settings.alerting.client_id})", flush=True)
    else:
        log.warning("no subscription yet; paho keeps trying")
    while not stopping.wait(60):
        log.info("alert worker: %s", worker.status())
    worker.stop()
    return 0
