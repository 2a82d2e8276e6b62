"""Hostile input: every new API body and filter answers a clear 4xx with the one error
body (French first), never a 500; bad MQTT payloads are rejected, counted and kept, and
the worker goes on judging the good ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from coldchain.protocol import Kind, topic
from server.alerting.worker import AlertWorker
from server.core.models.alerts import RejectedMessage
from tests.alerting.support import PROBE, Probe, Site, readings, wait_for
from tests.harness.servers import Mosquitto

GOOD_ACTION: dict[str, Any] = {
    "immediate_action": "x",
    "action_at": "2026-11-22T06:00:00+00:00",
    "product_assessment": "x",
    "root_cause": "x",
    "preventive_action": "x",
    "afsca_notified": False,
    "afsca_reason": "x",
}
BAD_ACTIONS: list[Any] = [
    None,
    [],
    "texte",
    {},
    {**GOOD_ACTION, "extra": 1},
    {**GOOD_ACTION, "immediate_action": ""},
    {**GOOD_ACTION, "immediate_action": "x" * 4001},
    {**GOOD_ACTION, "immediate_action": "nul\x00"},
    {**GOOD_ACTION, "action_at": "2026-11-22T06:00:00"},  # no time zone
    {**GOOD_ACTION, "action_at": "9999-01-01T00:00:00+00:00"},
    {**GOOD_ACTION, "core_temperature_c": "NaN"},
    {**GOOD_ACTION, "core_temperature_c": 1e308},
    {**GOOD_ACTION, "afsca_notified": "peut-être"},
    {**GOOD_ACTION, "lot_decisions": [{"load_id": 1, "decision": "eat_it", "justification": "x"}]},
    {
        **GOOD_ACTION,
        "lot_decisions": [{"load_id": -1, "decision": "destroy", "justification": "x"}],
    },
    {
        **GOOD_ACTION,
        "lot_decisions": [{"load_id": 2**40, "decision": "destroy", "justification": "x"}],
    },
    {**GOOD_ACTION, "lot_decisions": [{}] * 501},
]


@pytest.mark.parametrize("path", ["corrective-action", "acknowledge", "close"])
def test_bodies_are_refused_with_the_error_body(site: Site, path: str) -> None:
    user = site.world["hygiene_a"]
    bodies = (
        BAD_ACTIONS
        if path == "corrective-action"
        else [None, [], {"note": 5}, {"note": "x" * 4001}, {"review_note": ""}, {"x": 1}]
    )
    for body in bodies:
        response = user.post(f"/api/v1/alerts/1/{path}", body)
        assert response.status_code in (404, 422), (body, response.text)
        error = response.json()["error"]
        assert error["code"] in ("validation_error", "invalid_json", "not_found")
        assert error["message"]
    raw = user.client.post(
        f"/api/v1/alerts/1/{path}",
        content=b"{not json",
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert raw.status_code in (400, 422) and raw.json()["error"]["code"] == "invalid_json"
    for alert_id in ("0", "-1", "abc", str(2**63)):
        response = user.post(f"/api/v1/alerts/{alert_id}/{path}", GOOD_ACTION)
        assert response.status_code == 422, response.text
    anonymous = site.client.post(f"/api/v1/alerts/1/{path}", json=GOOD_ACTION)
    assert anonymous.status_code == 401


def test_filters_are_validated(site: Site) -> None:
    user = site.world["hygiene_a"]
    for params in (
        {"state": "ouvert"},
        {"kind": "' OR 1=1 --"},
        {"zone_id": "0"},
        {"since": "hier"},
        {"since": "2026-01-01T00:00:00"},
        {"limit": "100000"},
    ):
        response = user.get("/api/v1/alerts", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["code"] == "validation_error"
        assert "Données invalides" in response.json()["error"]["message"]
    english = user.get("/api/v1/alerts", params={"state": "x"}, headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"].startswith("Invalid data")
    assert site.client.get("/api/v1/alerts/stream").status_code == 401


def test_worker_rejects_counts_and_keeps_bad_messages_then_judges_good_ones(
    site: Site, mosquitto: Mosquitto
) -> None:
    probe = Probe(mosquitto.port)
    worker = AlertWorker(site.settings)
    worker.start()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    good = {"v": 1, "id": PROBE, "fw": "1.0.0", "r": [{"c": "air", "t": now_ms, "s": 1, "v": 3.0}]}
    bad: list[bytes] = [
        b"not json",
        b"",
        b"\xff\xfe\x00",
        b"[]",
        b"{}",
        json.dumps({**good, "id": "probe-02"}).encode(),  # writing for another probe
        json.dumps(good).replace(b"3.0", b"NaN")
        if False
        else json.dumps(good).encode().replace(b"3.0", b"NaN"),
        json.dumps(
            {**good, "r": [{"c": "air", "t": now_ms + 3_600_000, "s": 1, "v": 3.0}]}
        ).encode(),
        json.dumps({**good, "r": [{"c": "air", "t": 1, "s": 1, "v": 3.0}]}).encode(),
        json.dumps({**good, "r": [{"c": "plutonium", "t": now_ms, "s": 1, "v": 3.0}]}).encode(),
        b"[" * 10_000,
        b"x" * 100_000,  # oversize
    ]
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        for payload in bad:
            probe.raw(payload)
        probe.raw(json.dumps(good).encode(), topic_name=topic("unknown/extra", Kind.READINGS))
        now = datetime.now(UTC)
        probe.send(readings(now - timedelta(minutes=3), [12.0] * 4))
        wait_for(lambda: site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["count"] == 1)
        wait_for(lambda: worker.counters["rejected"] >= len(bad))
        with site.app.state.sessionmaker() as session:
            kept = list(session.scalars(select(RejectedMessage)))
        assert len(kept) == worker.counters["rejected"] >= len(bad)
        reasons = {k.reason for k in kept}
        assert {"invalid_json", "payload_too_large", "probe_id_mismatch"} <= reasons, reasons
        assert any(k.payload == b"not json" for k in kept)
        assert worker.counters["internal_error"] == 0
    finally:
        worker.stop()
        probe.close()
