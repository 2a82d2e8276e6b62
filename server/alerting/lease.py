"""Which alert worker is active: a lease in the database, so a second worker can stand by.

Two workers may run (on two machines, or two processes under a supervisor). They share the
MQTT client id, and so the broker session that queues the readings while no worker reads
them, and the engine state saved in the database. Only the lease holder connects to the
broker and judges readings; the other polls the lease and, once it has not been renewed for
`alerting.lease_s` (at once when the holder's process is gone from this same machine),
takes it, restores the state the first one saved, and connects with the
same client id: the broker hands it the session with every reading the first one had not
acknowledged, so nothing is missed, and the state's publisher recognises what was already
raised, so nothing is raised twice (server/alerting/worker.py). A worker that finds the
lease taken by someone else while it runs stops at once rather than judge beside it.

The lease is a row of `alert_worker_state` (name `engine-lease`, holder and client id in its
JSON), read and written inside one transaction: the worker's SQLite transactions take the
write lock first (server/alerting/db.py), PostgreSQL's row is locked FOR UPDATE. Its age is
measured against the database row's `updated_at` in UTC written by the holder: machines
sharing a database must share a clock (NTP), as they do for everything else here.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from server.core.models.alerts import WorkerState

LEASE_NAME = "engine-lease"


class AnotherWorkerRunning(RuntimeError):
    """A worker with another MQTT client id holds the lease: it would split the readings."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lease: a process (host, pid, random) and the MQTT client id it uses."""

    holder: str
    client_id: str
    age_s: float


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _gone(holder: str) -> bool:
    """A holder on this machine whose process is no longer running (a worker restarted by
    its supervisor after a crash): its lease is over now, not after `ttl_s`."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _age_s(row: WorkerState, now: datetime) -> float:
    updated = row.updated_at
    if updated.tzinfo is None:  # SQLite returns naive datetimes (UTC as written)
        updated = updated.replace(tzinfo=now.tzinfo)
    return (now - updated).total_seconds()


@dataclass
class Lease:
    holder: str  # this process
    client_id: str  # the MQTT client id every worker of the deployment shares
    ttl_s: float  # not renewed for this long: a standby may take it

    def take(self, session: Session) -> Holder | None:
        """Take or renew the lease in the session's transaction (the caller commits): None
        when it is ours now, else who holds it. Raises `AnotherWorkerRunning` when a live
        holder uses another client id (a configuration mistake, not a standby)."""
        # Real time, not the domain clock (coldchain/clock.py): the lease times processes, and
        # the demo's clock runs 300 times faster while workers renew every lease_s / 4 real
        # seconds, so a standby would take a lease its holder is still renewing.
        now = datetime.now(UTC)
        row = session.get(WorkerState, LEASE_NAME, with_for_update=True)
        if row is None:
            session.add(WorkerState(name=LEASE_NAME, state=self._state(), updated_at=now))
            return None
        other = Holder(
            str(row.state.get("holder", "")), str(row.state.get("client_id", "")), _age_s(row, now)
        )
        if other.holder != self.holder and other.age_s < self.ttl_s and not _gone(other.holder):
            if other.client_id != self.client_id:
                raise AnotherWorkerRunning(
                    f"alert worker {other.client_id!r} renewed its lease {other.age_s:.0f} s "
                    f"ago; a standby worker must use the same client id "
                    f"(alerting.client_id, docs/alert-lifecycle.md)"
                )
            return other
        row.state = self._state()
        row.updated_at = now
        return None

    def held(self, session: Session) -> bool:
        """Renew the lease if it is still ours (in the session's transaction); False when
        another worker took it meanwhile (this one must stop judging)."""
        row = session.get(WorkerState, LEASE_NAME, with_for_update=True)
        if row is not None and row.state.get("holder") not in (self.holder, None):
            return False
        return self.take(session) is None

    def release(self, session: Session) -> None:
        """On a clean stop: let a standby take over at once instead of after `ttl_s`."""
        row = session.get(WorkerState, LEASE_NAME, with_for_update=True)
        if row is not None and row.state.get("holder") == self.holder:
            session.delete(row)

    def _state(self) -> dict[str, str]:
        return {"holder": self.holder, "client_id": self.client_id}
