"""What changed between two versions of a record, in French, for the newest version to say."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from coldchain import clock


def _when(ms: int) -> str:
    return clock.local(datetime.fromtimestamp(ms / 1000, UTC)).strftime("%d/%m/%Y %H:%M")


def _num(value: Any) -> str:
    """French decimals: 3,26 (not 3.26); '—' when there is no value."""
    return "—" if value is None else f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def describe(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    old_zones = {z["id"]: z for z in old.get("zones", [])}
    for zone in new.get("zones", []):
        before = {tuple(r[:3]): r for r in old_zones.get(zone["id"], {}).get("readings", [])}
        after = {tuple(r[:3]): r for r in zone["readings"]}
        added = sorted(k[0] for k in after.keys() - before.keys())
        removed = sorted(k[0] for k in before.keys() - after.keys())
        changed = sum(1 for k in after.keys() & before.keys() if after[k] != before[k])
        if added:
            out.append(
                f"Zone {zone['name']} : {len(added)} mesure(s) arrivée(s) après le scellement "
                f"(données tardives), du {_when(added[0])} au {_when(added[-1])}."
            )
        if removed:
            out.append(
                f"Zone {zone['name']} : {len(removed)} mesure(s) absente(s) de cette version."
            )
        if changed:
            out.append(
                f"Zone {zone['name']} : {changed} mesure(s) modifiée(s) (étalonnage ou valeur)."
            )
    old_loads = {load["lot_reference"]: load for load in old.get("loads", [])}
    for load in new.get("loads", []):
        previous = old_loads.get(load["lot_reference"])
        if previous is None:
            out.append(f"Lot {load['lot_reference']} : ajouté.")
            continue
        for key, label in (
            ("min", "minimum"),
            ("max", "maximum"),
            ("mean", "moyenne"),
            ("minutes_above", "minutes au-dessus de la limite"),
        ):
            if previous["stats"].get(key) != load["stats"].get(key):
                out.append(
                    f"Lot {load['lot_reference']} : {label} {_num(previous['stats'].get(key))} -> "
                    f"{_num(load['stats'].get(key))}."
                )
        source = load.get("limit", {}).get("source_fr")
        if previous.get("limit", {}).get("source_fr") != source:
            # The profiles' citation was corrected (alerts/profiles.toml): say so, by name.
            out.append(f"Lot {load['lot_reference']} : source de la limite mise à jour ({source}).")
        if previous["verdict"]["code"] != load["verdict"]["code"]:
            out.append(
                f"Lot {load['lot_reference']} : verdict {previous['verdict']['label_fr']} -> "
                f"{load['verdict']['label_fr']}."
            )
    old_alerts = {a["uid"] for a in old.get("alerts", [])}
    new_alerts = [a for a in new.get("alerts", []) if a["uid"] not in old_alerts]
    if new_alerts:
        out.append(f"{len(new_alerts)} alerte(s) nouvelle(s).")
    if (
        len(new.get("alerts", [])) == len(old.get("alerts", []))
        and not new_alerts
        and (new.get("alerts") != old.get("alerts"))
    ):
        out.append("Suivi des alertes mis à jour (acquittement, action corrective).")
    for key, label in (
        ("stops", "arrêts et remises"),
        ("delivery", "en-tête de la livraison"),
        ("departure_checks", "contrôles au départ"),
    ):
        if old.get(key) != new.get(key):
            out.append(f"Modification : {label}.")
    return out or ["Contenu modifié."]
