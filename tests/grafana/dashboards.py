"""The provisioned dashboards (grafana/) as the tests read them: every query with the data
source it goes to, and Grafana's substitution of its macros and variables, done here as
Grafana does it (Grafana itself cannot be installed in the test environment)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
READINGS_UID = "coldchain-readings"  # grafana/provisioning/datasources/coldchain.yaml
REGISTRY_UID = "coldchain-registry"


def load(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return board


@dataclass(frozen=True)
class Query:
    where: str  # « van-zones.json panel 1 target A », for the failure message
    uid: str  # the data source's uid
    text: str  # the InfluxQL, or the Infinity query's URL
    target: dict[str, Any]


def queries(board: dict[str, Any], name: str) -> Iterator[Query]:
    """Every query of the dashboard, in the order Grafana needs them: variables, panels'
    targets, annotations (not Grafana's built-in one)."""
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        uid = variable["datasource"]["uid"]
        where = f"{name} variable {variable['name']}"
        if isinstance(query, str):
            yield Query(where, uid, query, {"query": query})
        else:
            yield _query(where, uid, query["infinityQuery"])
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            uid = (target.get("datasource") or panel["datasource"])["uid"]
            yield _query(f"{name} panel {panel['id']} target {target['refId']}", uid, target)
    for annotation in board["annotations"]["list"]:
        if annotation.get("builtIn"):
            continue
        uid = annotation["datasource"]["uid"]
        yield _query(f"{name} annotation {annotation['name']}", uid, annotation["target"])


def _query(where: str, uid: str, target: dict[str, Any]) -> Query:
    text = target["query"] if uid == READINGS_UID else target["url"]
    return Query(where, uid, text, target)


# Grafana's regex formatting of a variable's values (its `regexEscape`, joined as (a|b)).
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")


def regex_value(values: list[str]) -> str:
    escaped = [_REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


REFERENCE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)\]\]")
# Grafana's own: the time range, the interval, the InfluxDB alias's tag names.
BUILT_IN = {"__from", "__to", "__interval", "__interval_ms", "timeFilter", "__all"}


def references(text: str) -> set[str]:
    names = set()
    for match in REFERENCE.finditer(text):
        name = match.group(1) or match.group(3) or match.group(4)
        if name not in BUILT_IN and not name.startswith("tag_"):
            names.add(name)
    return names


def substitute(
    text: str, values: dict[str, list[str]], start_ms: int, end_ms: int, interval: str = "1m"
) -> str:
    """`text` as Grafana sends it: `$timeFilter` as the InfluxDB data source writes it,
    `${__from}` / `${__to}` in epoch milliseconds, `$__interval`, `${name:regex}` as
    (a|b) escaped, `${name}` / `$name` as the value (one value) or {a,b}."""
    text = text.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    text = text.replace("$__interval", interval)
    text = text.replace("${__from}", str(start_ms)).replace("${__to}", str(end_ms))

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        if name.startswith("tag_"):
            return match.group(0)
        chosen = values[name]
        if match.group(2) == "regex":
            return regex_value(chosen)
        assert match.group(2) is None, f"format {match.group(2)} not handled here"
        return chosen[0] if len(chosen) == 1 else "{" + ",".join(chosen) + "}"

    return REFERENCE.sub(one, text)
