"""The Grafana dashboards and provisioning files (grafana/, docs/grafana.md).

Grafana itself is NOT run: it cannot be installed here. What can be checked without it is:
the dashboards' structure for the Grafana version docs/grafana.md names (Classic JSON model,
schemaVersion 39: required fields, unique panel ids, panels inside the 24-column grid and not
overlapping, every data source reference naming a provisioned data source, every variable a
query uses declared), and every InfluxQL query of the dashboards run on the real InfluxDB
1.6.7 against a demo day written through the gateway's own sink, with Grafana's macros and
variables substituted as Grafana substitutes them (tests/grafana/dashboards.py): each must
answer rows. The queries to the server's JSON routes (the Infinity data source) are run in
tests/grafana/test_grafana_api.py."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML: installed with schemathesis

from coldchain.demo import day
from coldchain.demo.probes import DemoClock, scenario
from coldchain.protocol import Reading
from coldchain.readingstore.influxdb import InfluxV1Sink
from tests.grafana.dashboards import (
    DASHBOARDS,
    GRAFANA,
    READINGS_UID,
    REGISTRY_UID,
    REPO,
    load,
    queries,
    references,
    regex_value,
    substitute,
)
from tests.harness.servers import InfluxDB1

SCHEMA_VERSION = 39  # Grafana 11.0's (docs/grafana.md)
GRID_COLUMNS = 24
MIXED = "-- Mixed --"
PANEL_TYPES = {"timeseries", "stat", "table", "state-timeline", "text"}


def provisioned_sources() -> dict[str, str]:
    """uid -> type of the provisioned data sources."""
    text = (GRAFANA / "provisioning" / "datasources" / "coldchain.yaml").read_text()
    sources = yaml.safe_load(text)["datasources"]
    return {s["uid"]: s["type"] for s in sources}


def test_the_three_dashboards_are_provisioned() -> None:
    names = [p.name for p in DASHBOARDS]
    assert names == ["cold-rooms.json", "probe-health.json", "van-zones.json"]
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "coldchain.yaml").read_text()
    )
    assert [p["type"] for p in provider["providers"]] == ["file"]
    assert provisioned_sources() == {
        READINGS_UID: "influxdb",
        REGISTRY_UID: "yesoreyeram-infinity-datasource",
    }
    doc = (REPO / "docs" / "grafana.md").read_text()
    assert "schemaVersion 39" in doc and "Grafana 11" in doc
    # Every environment variable the provisioning uses is explained in the docs.
    used = set(
        re.findall(
            r"\$\{(\w+)\}",
            (GRAFANA / "provisioning" / "datasources" / "coldchain.yaml").read_text(),
        )
    )
    assert used and all(f"`{name}`" in doc for name in used), used


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    board = load(path)
    for key in ("uid", "title", "panels", "templating", "annotations", "time", "version"):
        assert key in board, key
    assert board["schemaVersion"] == SCHEMA_VERSION
    assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"])
    assert "coldchain" in board["tags"]

    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids), ids
    boxes = []
    for panel in board["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["type"]
        assert panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "hwxy"), grid
        assert grid["w"] >= 1 and grid["h"] >= 1 and grid["x"] >= 0 and grid["y"] >= 0
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, (panel["title"], grid)
        boxes.append((panel["title"], grid))
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), refs
        if panel["type"] != "text":
            assert refs, panel["title"]
    for i, (a, ga) in enumerate(boxes):
        for b, gb in boxes[i + 1 :]:
            apart = (
                ga["x"] + ga["w"] <= gb["x"] or gb["x"] + gb["w"] <= ga["x"]
                or ga["y"] + ga["h"] <= gb["y"] or gb["y"] + gb["h"] <= ga["y"]
            )  # fmt: skip
            assert apart, f"{a} overlaps {b}"

    # Every data source named is one the provisioning creates, with its type.
    sources = provisioned_sources()
    named = list(_datasources(board))
    assert named
    for ref in named:
        if ref.get("uid") == "-- Grafana --":
            assert ref["type"] == "grafana"  # the built-in annotations
            continue
        if ref.get("uid") == MIXED:
            assert ref["type"] == "datasource"
            continue
        assert sources.get(ref["uid"]) == ref["type"], ref
    # A panel querying two data sources is a « Mixed » one, each target naming its own
    # (otherwise Grafana sends every target to the panel's data source).
    for panel in board["panels"]:
        targets = panel.get("targets", [])
        used = {(t.get("datasource") or panel["datasource"])["uid"] for t in targets}
        if len(used) > 1 or panel.get("datasource", {}).get("uid") == MIXED:
            assert panel["datasource"]["uid"] == MIXED, panel["title"]
            assert all(t.get("datasource", {}).get("uid") in sources for t in targets)

    # Every variable a query (or an alias, a URL) uses is declared, and declared before use.
    declared = [v["name"] for v in board["templating"]["list"]]
    assert len(declared) == len(set(declared))
    text = json.dumps(board["panels"]) + json.dumps(board["annotations"])
    assert references(text) <= set(declared), references(text) - set(declared)
    for index, variable in enumerate(board["templating"]["list"]):
        assert references(json.dumps(variable.get("query", ""))) <= set(declared[:index])

    # Both kinds of alert display: an annotation query and the alerts themselves.
    annotations = [a for a in board["annotations"]["list"] if not a.get("builtIn")]
    assert [a["datasource"]["uid"] for a in annotations] == [REGISTRY_UID]
    assert annotations[0]["target"]["url"].startswith("/api/v1/grafana/annotations?")


def _datasources(node: Any) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            yield node["datasource"]
        for value in node.values():
            yield from _datasources(value)
    elif isinstance(node, list):
        for value in node:
            yield from _datasources(value)


def test_grafana_substitution_as_grafana_does_it() -> None:
    """The substitution the query test relies on (a wrong one would test other queries)."""
    assert regex_value(["demo-v1-froid", "a.b"]) == r"(demo-v1-froid|a\.b)"
    assert regex_value(["cr1"]) == "cr1"
    query = 'WHERE "probe" =~ /^${probe:regex}$/ AND $timeFilter GROUP BY time($__interval)'
    assert substitute(query, {"probe": ["a", "b"]}, 1000, 2000, "2m") == (
        'WHERE "probe" =~ /^(a|b)$/ AND time >= 1000ms and time <= 2000ms GROUP BY time(2m)'
    )
    assert substitute("/x?place=${place}&from=${__from}", {"place": ["zone-1"]}, 5, 6) == (
        "/x?place=zone-1&from=5"
    )


# --- Every InfluxQL query on the real InfluxDB 1.6.7, against a demo day -----------------

DAY_S = 24 * 3600


def demo_day(start_ms: int) -> list[Reading]:
    """A day of the demo's probes (coldchain/demo/day.py) as the simulated boards record it:
    each probe's channel once a minute from its scripted series, the supply voltage as the
    `battery` channel with each sample (coldchain/demo/probes.py `scenario`), door events
    at their changes."""
    clock = DemoClock(speed=1.0, meets_real_at=start_ms / 1000, t0=start_ms / 1000)
    out = []
    for probe in day.PROBES:
        supply = float(scenario(probe, clock)["supply"])  # type: ignore[arg-type]
        seq = 0
        for s in range(0, DAY_S, day.INTERVAL_S):
            t = start_ms + s * 1000
            value = round(day.value_at(probe.series, s), 2)
            out.append(Reading(probe.probe_id, probe.channel, t, seq := seq + 1, value))
            out.append(Reading(probe.probe_id, "battery", t, seq := seq + 1, supply))
        for s, state in probe.door:
            t = start_ms + s * 1000 + 500  # a door event has its own time
            out.append(Reading(probe.probe_id, "door", t, seq := seq + 1, float(state)))
    return out


def influxql(server: InfluxDB1, q: str) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"db": "coldchain", "q": q, "epoch": "ms"})
    with urllib.request.urlopen(f"{server.url}/query?{params}", timeout=30) as response:
        body = json.loads(response.read())
    (result,) = body["results"]
    assert "error" not in result, (q, result["error"])
    series: list[dict[str, Any]] = result.get("series", [])
    return series


def test_every_influxql_query_answers_the_demo_day(influxdb1: InfluxDB1) -> None:
    start_ms = 1_780_000_000_000 // 60_000 * 60_000  # a minute boundary
    end_ms = start_ms + DAY_S * 1000
    sink = InfluxV1Sink(influxdb1.url, "coldchain")
    readings = demo_day(start_ms)
    for i in range(0, len(readings), 5000):
        sink.write_first(readings[i : i + 5000])
    sink.close()

    # The probe variable's values: what the server gives for a place (its installations,
    # tests/grafana/test_grafana_api.py); here every demo probe of the dashboard's kind.
    vans = [p.probe_id for p in day.PROBES if p.place.startswith("V")]
    rooms = [p.probe_id for p in day.PROBES if not p.place.startswith("V")]
    probes_of = {"van-zones.json": vans, "cold-rooms.json": rooms}
    ran = 0
    for path in DASHBOARDS:
        board = load(path)
        values = {
            v["name"]: [o["value"] for o in v["options"]]
            for v in board["templating"]["list"]
            if v["type"] == "custom"
        }
        for query in queries(board, path.name):
            if query.uid != READINGS_UID:
                continue
            if query.text.startswith("SHOW TAG VALUES"):  # the health dashboard's probes
                series = influxql(influxdb1, query.text)
                shown = sorted(v[1] for v in series[0]["values"])
                assert shown == sorted(p.probe_id for p in day.PROBES)
                probes_of[path.name] = shown
                ran += 1
                continue
            values["probe"] = probes_of[path.name]
            sent = substitute(query.text, values, start_ms, end_ms, "5m")
            assert not re.search(r"\$[A-Za-z_{]|\[\[", sent), sent
            series = influxql(influxdb1, sent)
            rows = [v for s in series for v in s["values"] if any(x is not None for x in v[1:])]
            assert rows, f"{query.where}: no rows for {sent}"
            if 'last("seq")' in sent:  # last seen: each probe's last minute of the day
                seen = {s["tags"]["probe"]: s["values"][0][0] for s in series}
                assert seen == {p.probe_id: end_ms - 60_000 for p in day.PROBES}
            ran += 1
    assert ran == 9  # 2 + 3 panels' queries on the places, 3 + the variable on the health
