"""`coldchain alert-worker`: the alert worker as its own process (restart it with a
supervisor; its stable client id gets the readings queued while it was down)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
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
    from server.alerting.lease import AnotherWorkerRunning
    from server.alerting.worker import AlertWorker
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
        holder = worker.try_lease()
        if holder is not None:
            # Another worker of this deployment is active: stand by, not connected to the
            # broker (the same client id would knock it off), until its lease runs out.
            print(f"alert worker standing by: {holder.holder} is active "
                  f"(lease renewed {holder.age_s:.0f} s ago)", flush=True)  # fmt: skip
            if not worker.wait_for_lease(stopping):
                worker.stop()
                return 0
            log.info("alert worker: lease taken over from %s", holder.holder)
        worker.start()
    except AnotherWorkerRunning as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        worker.stop()
        return 2
    if worker.mqtt.subscribed.wait(30):
        print(f"alert worker ready ({settings.alerting.client_id})", flush=True)
    else:
        log.warning("no subscription yet; paho keeps trying")
    last_status = time.monotonic()
    while not stopping.wait(1.0) and not worker.lost.is_set():
        if time.monotonic() - last_status >= 60:
            last_status = time.monotonic()
            log.info("alert worker: %s", worker.status())
    worker.stop()
    # Another worker took the lease: exit non-zero, so the supervisor restarts this one,
    # which then stands by.
    return 3 if worker.lost.is_set() else 0
