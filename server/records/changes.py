"""What changed between two versions of a record, for the newest version to say.

`describe` gives the facts of each change (a `records` catalogue key and its fields, no
words); the record seals them (`change_facts`) with their French sentences (`changes`).
A document in another language makes the sentences again from the facts (`in_language`);
a record sealed before the facts were kept shows its French sentences with a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from coldchain import clock
from server.records.verdict import source_in
from server.records.wording import VERDICT, Words

# The figures of a lot whose change the new version names, with the word that names each.
FIGURES = {
    "min": "change_figure_min",
    "max": "change_figure_max",
    "mean": "change_figure_mean",
    "minutes_above": "change_figure_minutes_above",
}
# The parts of the record whose change is named as a whole.
PARTS = {
    "stops": "change_part_stops",
    "delivery": "change_part_delivery",
    "departure_checks": "change_part_departure_checks",
}


def _when(ms: int, lang: str) -> str:
    pattern = "%Y-%m-%d %H:%M" if lang == "en" else "%d/%m/%Y %H:%M"
    return clock.local(datetime.fromtimestamp(ms / 1000, UTC)).strftime(pattern)


def _num(value: Any, lang: str) -> str:
    """Decimals as the reader writes them: 3,26 (not 3.26; English 3.26); '—' for none."""
    if value is None:
        return "—"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if lang == "en" else text.replace(".", ",")


def describe(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes from `old` to `new`, as facts: {"key": a `records` message, its fields}."""
    out: list[dict[str, Any]] = []
    old_zones = {z["id"]: z for z in old.get("zones", [])}
    for zone in new.get("zones", []):
        before = {tuple(r[:3]): r for r in old_zones.get(zone["id"], {}).get("readings", [])}
        after = {tuple(r[:3]): r for r in zone["readings"]}
        added = sorted(k[0] for k in after.keys() - before.keys())
        removed = sorted(k[0] for k in before.keys() - after.keys())
        changed = sum(1 for k in after.keys() & before.keys() if after[k] != before[k])
        name = zone["name"]
        if added:
            out.append(
                {
                    "key": "change_late_readings",
                    "zone": name,
                    "n": len(added),
                    "from_ms": added[0],
                    "to_ms": added[-1],
                }
            )
        if removed:
            out.append({"key": "change_readings_removed", "zone": name, "n": len(removed)})
        if changed:
            out.append({"key": "change_readings_changed", "zone": name, "n": changed})
    old_loads = {load["lot_reference"]: load for load in old.get("loads", [])}
    for load in new.get("loads", []):
        lot = load["lot_reference"]
        previous = old_loads.get(lot)
        if previous is None:
            out.append({"key": "change_lot_added", "lot": lot})
            continue
        for figure in FIGURES:
            if previous["stats"].get(figure) != load["stats"].get(figure):
                out.append(
                    {
                        "key": "change_lot_figure",
                        "lot": lot,
                        "figure": figure,
                        "before": previous["stats"].get(figure),
                        "after": load["stats"].get(figure),
                    }
                )
        limit = load.get("limit", {})
        if previous.get("limit", {}).get("source_fr") != limit.get("source_fr"):
            # The profiles' citation was corrected (alerts/profiles.toml): say so, by name.
            source = {k: limit.get(k) for k in ("source_fr", "max_basis", "min_basis")}
            out.append({"key": "change_lot_source", "lot": lot, "limit": source})
        if previous["verdict"]["code"] != load["verdict"]["code"]:
            out.append(
                {
                    "key": "change_lot_verdict",
                    "lot": lot,
                    "before": previous["verdict"]["code"],
                    "after": load["verdict"]["code"],
                }
            )
    old_alerts = {a["uid"] for a in old.get("alerts", [])}
    new_alerts = [a for a in new.get("alerts", []) if a["uid"] not in old_alerts]
    if new_alerts:
        out.append({"key": "change_new_alerts", "n": len(new_alerts)})
    if (
        len(new.get("alerts", [])) == len(old.get("alerts", []))
        and not new_alerts
        and (new.get("alerts") != old.get("alerts"))
    ):
        out.append({"key": "change_alerts_followup"})
    for part in PARTS:
        if old.get(part) != new.get(part):
            out.append({"key": "change_part", "part": part})
    return out or [{"key": "change_other"}]


def sentence(change: Mapping[str, Any], w: Words) -> str:
    """One change in `w`'s language."""
    key, lang = change["key"], w.lang
    if key == "change_late_readings":
        return w(
            key,
            zone=change["zone"],
            n=change["n"],
            start=_when(change["from_ms"], lang),
            end=_when(change["to_ms"], lang),
        )
    if key in ("change_readings_removed", "change_readings_changed"):
        return w(key, zone=change["zone"], n=change["n"])
    if key == "change_lot_added":
        return w(key, lot=change["lot"])
    if key == "change_lot_figure":
        return w(
            key,
            lot=change["lot"],
            figure=w(FIGURES[change["figure"]]),
            before=_num(change["before"], lang),
            after=_num(change["after"], lang),
        )
    if key == "change_lot_source":
        return w(key, lot=change["lot"], source=source_in(change["limit"], w))
    if key == "change_lot_verdict":
        return w(
            key,
            lot=change["lot"],
            before=w.value(VERDICT, change["before"]),
            after=w.value(VERDICT, change["after"]),
        )
    if key == "change_new_alerts":
        return w(key, n=change["n"])
    if key == "change_part":
        return w(key, part=w(PARTS[change["part"]]))
    return w("change_alerts_followup" if key == "change_alerts_followup" else "change_other")


def sentences(changes: list[dict[str, Any]], w: Words | None = None) -> list[str]:
    """The changes in `w`'s language (French: what the record seals as `changes`)."""
    return [sentence(change, w or Words()) for change in changes]


def in_language(doc: Mapping[str, Any], w: Words) -> list[str]:
    """A sealed version's changes in `w`'s language: made from its `change_facts` when they
    give back its sealed French sentences; else those, as sealed, each with a note."""
    sealed = [str(change) for change in doc.get("changes", [])]
    facts = doc.get("change_facts")
    if w.lang == "fr":
        return sealed
    if isinstance(facts, list) and _same(facts, sealed):
        return sentences(facts, w)
    return [w.sealed(change) for change in sealed]


def _same(facts: list[Any], sealed: list[str]) -> bool:
    try:
        return sentences(facts) == sealed
    except (KeyError, TypeError, ValueError):  # not facts this code made: the sealed text
        return False
