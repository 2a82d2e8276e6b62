"""The server's sealing timer (`records.seal_every_s`): every few minutes, `seal_pending`
seals the closed deliveries that have no record yet (the seal at close failed: database
busy, reading store down) and reseals those whose record late readings changed (a probe's
backlog after a dead zone). Without it a one-command installation would depend on a cron
job running `coldchain records seal`.

Several server processes may each run one: `seal` takes the cooperative's chain lock and
compares with the latest version under it, so a second sealer finds nothing new."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from fastapi import FastAPI

from coldchain import clock
from server.domain.categories import profiles
from server.records.sealing import seal_pending

log = logging.getLogger(__name__)


class SealingTimer(threading.Thread):
    def __init__(self, app: FastAPI, every_s: float) -> None:
        super().__init__(name="sealing-timer", daemon=True)
        self.app = app
        self.every_s = every_s
        self._stopping = threading.Event()

    def run(self) -> None:
        window = timedelta(days=self.app.state.settings.records.reseal_window_days)
        while not self._stopping.wait(self.every_s):
            try:
                sealed = seal_pending(
                    self.app.state.sessionmaker,
                    self.app.state.reading_store,
                    profiles(),
                    clock.utcnow(),
                    window,
                )
            except Exception:
                # Broad on purpose: the timer thread's top loop (the database is down, a bug):
                # logged, tried again at the next pass; the thread never dies.
                log.exception("sealing timer: pass failed")
            else:
                for record in sealed:
                    log.info(
                        "sealing timer: delivery %s sealed, version %s",
                        record.delivery_id,
                        record.version,
                    )

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)


def start(app: FastAPI) -> SealingTimer | None:
    every_s = app.state.settings.records.seal_every_s
    if every_s <= 0:
        return None
    timer = SealingTimer(app, every_s)
    timer.start()
    return timer
