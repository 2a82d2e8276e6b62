"""Starts the system's processes, restarts one that dies, and stops them all cleanly.

The broker, the gateway and the server each keep a stable identity (port, MQTT client id),
so a restarted process resumes where it stopped: the broker keeps its persistent session
(docs/technical-notes.md#shared-subscriptions-measured). Children are started with
PR_SET_PDEATHSIG so that even a `kill -9` of the supervisor leaves no orphan behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_open(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    def check() -> bool:
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return True
        return False

    return check


STEADY_S = 60.0  # a process that lived this long before dying was not in a crash loop


def backoff_s(restarts: int) -> float:
    """1, 2, 4 ... 30 s before a restart, so a crash loop does not spin the machine."""
    return min(30.0, 2.0**restarts)


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    ready_timeout_s: float = 60.0
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0  # time.monotonic() of the last start


class Supervisor:
    def __init__(self, services: list[Service], log_dir: Path) -> None:
        self.services = services
        self.log_dir = log_dir
        self._stopping = False

    def _spawn(self, service: Service) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{service.name}.log").open("ab") as out:
            service.proc = subprocess.Popen(
                service.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **service.env},
                preexec_fn=_die_with_parent,  # only calls prctl: safe before exec
            )
        service.started_at = time.monotonic()
        log.info("%s started (pid %d)", service.name, service.proc.pid)

    def _wait_ready(self, service: Service) -> None:
        if service.ready is None:
            return
        deadline = time.monotonic() + service.ready_timeout_s
        while not service.ready():
            assert service.proc is not None
            if service.proc.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited with {service.proc.returncode} while starting; "
                    f"see {self.log_dir / (service.name + '.log')}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service.name} not ready after {service.ready_timeout_s} s")
            time.sleep(0.1)

    def start(self) -> None:
        """Start every service in order, each ready before the next (broker first)."""
        for service in self.services:
            self._spawn(service)
            self._wait_ready(service)

    def request_stop(self, *_: object) -> None:
        self._stopping = True

    def run(self, poll_s: float = 0.5) -> None:
        """Watch the services until asked to stop; restart a dead one with backoff."""
        while not self._stopping:
            now = time.monotonic()
            for service in self.services:
                proc = service.proc
                if proc is not None and proc.poll() is None:
                    continue
                if proc is not None:
                    if now - service.started_at >= STEADY_S:
                        # It ran: a crash after days of work is not a crash loop, so the
                        # backoff starts again at 1 s instead of staying at 30 s forever.
                        service.restarts = 0
                    delay = backoff_s(service.restarts)
                    log.warning(
                        "%s exited with %s; restarting in %.0f s",
                        service.name,
                        proc.returncode,
                        delay,
                    )
                    service.proc = None
                    service.restarts += 1
                    service.next_start = now + delay
                if now >= service.next_start:
                    self._spawn(service)
            time.sleep(poll_s)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM in reverse order (the broker last, so the others flush), then SIGKILL."""
        for service in reversed(self.services):
            proc = service.proc
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.error("%s did not stop in %.0f s; killing it", service.name, timeout_s)
                proc.kill()
                proc.wait()
            log.info("%s stopped", service.name)
