"""Probes registered and installed through the API. Used by tests/server (a delivery's
thermo-box) and tests/records (a cold room's probe for the inspection export)."""

from __future__ import annotations

from datetime import datetime

from tests.server.world import As, iso


def install_new_probe(by: As, probe_id: str, owner_id: int, start: datetime, **place: int) -> int:
    """Register probe `probe_id` for owner `owner_id` and install it in a zone (`zone_id=`)
    or a cold room (`cold_room_id=`) from `start`; its id."""
    probe = by.ok("POST", "/api/v1/probes", {"probe_id": probe_id, "owner_id": owner_id}, 201)
    body = {**place, "start": iso(start)}
    by.ok("POST", f"/api/v1/probes/{probe['id']}/installations", body, 201)
    return int(probe["id"])
