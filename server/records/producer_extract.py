"""A producer's extract of a sealed delivery record: the part about their own lots only.

The sealed document (server/records/document.py) holds every producer's lots and the
zones' temperatures over the whole delivery; a producer may see their own lots and the van
temperatures only while those lots were on board (docs/domain.md, "Who sees what"). The
extract is a pure function of the sealed document, so it says exactly what was sealed, and
it carries the record's id, version and hash so an inspector can check it against the
cooperative's chain. What is left out: other lots (references, quantities, consignors,
consignees), the zones' readings outside the producer's time on board, the departure check,
the driver, handovers and changes that are not about the producer's lots.

Free text typed on a shared delivery is shown only when it is attached to the producer's
own lots: a refusal's reason and a lot decision's justification about their lot, and the
text of a corrective action (immediate action, product assessment, cause, preventive
measure, AFSCA reason) only when its alert names their lots and no one else's. The text
of an action on an alert about other producers' lots too, or about the van as a whole, may
speak of those lots: the extract says it is left out, and where to find it. A lot reference
that another producer's lot of the delivery also bears does not count as theirs for that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.models import Load
from server.core.models.records import SealedRecord
from server.records.timefmt import parse
from server.records.vocabulary import words
from server.records.wording import Words

FORMAT = "coldchain-producer-extract/1"
# A corrective action's free text: shown only when the alert is about the producer's lots only.
FREE_TEXT = (
    "immediate_action",
    "product_assessment",
    "root_cause",
    "preventive_action",
    "afsca_reason",
)
LEFT_OUT = "—"


@dataclass(frozen=True)
class Seal:
    record_id: int
    record_hash: str
    previous_hash: str

    @classmethod
    def of(cls, record: SealedRecord) -> Seal:
        return cls(record.id, record.record_hash, record.previous_hash)


def consignors_of(session: Session, doc: Mapping[str, Any]) -> dict[int, int]:
    """Load id -> consignor organisation id, from the delivery's load rows (the document
    names the consignor; the id, which access needs, is on the row). A load whose row is
    gone is attributed to nobody: it never shows in any extract (rather that than a leak)."""
    ids = [load["id"] for load in doc["loads"]]
    rows = session.execute(
        select(Load.id, Load.consignor_id).where(
            Load.id.in_(ids), Load.delivery_id == doc["delivery"]["id"]
        )
    )
    return dict(rows.all())


def _ms(value: str | None) -> int | None:
    moment = parse(value)
    return None if moment is None else int(moment.timestamp() * 1000)


def verification(extract: Mapping[str, Any], w: Words) -> str:
    """How an inspector checks the extract against the cooperative's chain, in `w`'s
    language, from the extract's `record` and `cooperative`."""
    record = extract["record"]
    return w(
        "extract_verification",
        record=record["id"],
        delivery=record["delivery_id"],
        version=record["version"],
        sequence=record["sequence"],
        cooperative=extract["cooperative"]["name"],
        hash=record["record_hash"],
    )


def extract(
    doc: Mapping[str, Any], seal: Seal, producer_id: int, consignors: Mapping[int, int]
) -> dict[str, Any]:
    """The extract of `doc` for the producer organisation `producer_id`. `consignors` maps
    the document's load ids to their consignor (consignors_of)."""
    mine = [load for load in doc["loads"] if consignors.get(load["id"]) == producer_id]
    refs = {load["lot_reference"] for load in mine}
    theirs = {
        load["lot_reference"] for load in doc["loads"] if consignors.get(load["id"]) != producer_id
    }
    own = refs - theirs  # references naming this producer's lots and nobody else's
    zones = {z["id"]: z for z in doc["zones"]}
    spans = [
        (load["zone_id"], _ms(load["on_board_from"]), _ms(load["on_board_until"]))
        for load in mine
        if load["on_board_from"]
    ]
    stop_numbers = {load[key] for load in mine for key in ("pickup_stop", "drop_stop")}
    delivery = doc["delivery"]
    out = {
        "format": FORMAT,
        "producer_id": producer_id,
        "consignor": mine[0]["consignor"] if mine else None,
        "cooperative": {"name": doc["cooperative"]["name"]},
        "record": {
            "id": seal.record_id,
            "delivery_id": delivery["id"],
            "version": doc["version"],
            "sequence": doc["sequence"],
            "sealed_at": doc["sealed_at"],
            "record_hash": seal.record_hash,
            "previous_hash": seal.previous_hash,
        },
        "delivery": {
            "id": delivery["id"],
            "day": delivery["day"],
            "van": {"name": delivery["van"]["name"], "plate": delivery["van"]["plate"]},
            "departed_at": delivery["departed_at"],
            "closed_at": delivery["closed_at"],
        },
        "stops": [
            _stop(stop, refs, own, {load["zone"] for load in mine})
            for stop in doc["stops"]
            if stop["sequence"] in stop_numbers
        ],
        "loads": [_load(load, zones.get(load["zone_id"])) for load in mine],
        "alerts": [
            entry
            for alert in doc["alerts"]
            if (entry := _alert(alert, refs, own, spans, zones)) is not None
        ],
    }
    out["verification_fr"] = verification(out, Words())  # French, as the JSON has always said
    return out


def _stop(
    stop: Mapping[str, Any], refs: set[str], own: set[str], my_zones: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: stop[key]
        for key in ("sequence", "kind", "place_kind", "place_name", "address", "planned_at")
    }
    handover = stop["handover"]
    if handover is None:
        return {**out, "handover": None}
    decisions = handover["decisions"]
    about_mine = [_reason(d, own) for d in decisions if d["lot_reference"] in refs]
    # A core temperature is of one product: shown only when every lot handed over is theirs.
    only_mine = bool(decisions) and len(about_mine) == len(decisions)
    out["handover"] = {
        "at": handover["at"],
        "receiver_name": handover["receiver_name"],
        "core_temperature_c": handover["core_temperature_c"] if only_mine else None,
        "zone_temperatures": [t for t in handover["zone_temperatures"] if t["zone"] in my_zones],
        "decisions": about_mine,
    }
    return out


def _reason(decision: Mapping[str, Any], own: set[str]) -> dict[str, Any]:
    """A receiver's decision about the producer's lot; its reason (free text) only when the
    lot reference is theirs alone."""
    if decision["lot_reference"] in own or decision["reason"] is None:
        return dict(decision)
    return {**decision, "reason": LEFT_OUT}


def _load(load: Mapping[str, Any], zone: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {
        key: load[key]
        for key in (
            "lot_reference",
            "description",
            "category",
            "category_fr",
            "quantity",
            "unit",
            "consignee",
            "label_max_c",
            "zone",
            "pickup_stop",
            "drop_stop",
            "on_board_from",
            "on_board_until",
            "channel",
            "limit",
            "stats",
            "verdict",
        )
    }
    start, end = _ms(load["on_board_from"]), _ms(load["on_board_until"])
    readings: list[list[Any]] = []
    gaps: list[dict[str, Any]] = []
    if zone is not None and start is not None and end is not None:
        columns = zone["reading_columns"]
        t, channel, value = (columns.index(c) for c in ("time_ms", "channel", "value"))
        # Only the judged channel, only while on board: what the verdict was computed from.
        readings = [
            [row[t], row[value]]
            for row in zone["readings"]
            if row[channel] == load["channel"] and row[value] is not None and start <= row[t] < end
        ]
        gaps = [
            {**gap, "from_ms": max(gap["from_ms"], start), "to_ms": min(gap["to_ms"], end)}
            for gap in zone["quality"]["gaps"]
            if gap["channel"] == load["channel"] and gap["from_ms"] < end and start < gap["to_ms"]
        ]
    return {**out, "readings": readings, "gaps": gaps}


def _alert(
    alert: Mapping[str, Any],
    refs: set[str],
    own: set[str],
    spans: list[tuple[int, int | None, int | None]],
    zones: Mapping[int, Any],
) -> dict[str, Any] | None:
    """The alert if it concerns the producer's lots (it names one, or it is on the zone of
    one while on board), with only their lots named; None otherwise."""
    start, end = _ms(alert["start_at"]), _ms(alert["end_at"])
    assert start is not None
    overlapping = [
        (a, b)
        for zone_id, a, b in spans
        if zone_id == alert["zone_id"]
        and a is not None
        and b is not None
        and a < (end if end is not None else b + 1)
        and start < b
    ]
    named = sorted(refs.intersection(alert["lots"]))
    if not named and not overlapping:
        return None
    # Its temperature text and peak only when the whole alert lies in the time on board
    # (else they may tell of temperatures before or after, which are not the producer's).
    inside = end is not None and any(a <= start and end <= b for a, b in overlapping)
    zone = zones.get(alert["zone_id"])
    action = alert["corrective_action"]
    return {
        "kind": alert["kind"],
        "severity": alert["severity"],
        "state": alert["state"],
        "zone": zone["name"] if zone else None,
        "start_at": alert["start_at"],
        "end_at": alert["end_at"],
        "within_on_board": inside,
        "peak": alert["peak"] if inside else None,
        "text_fr": alert["text_fr"] if inside else None,
        # What the text is made of, for another language (server/records/alerts_log.py).
        "text_facts": alert.get("text_facts") if inside else None,
        "lots": named,
        "corrective_action": None if action is None else _action(alert, action, refs, own),
    }


def _action(
    alert: Mapping[str, Any], action: Mapping[str, Any], refs: set[str], own: set[str]
) -> dict[str, Any]:
    """The corrective action as the producer may read it: its free text only when the alert
    is about their lots alone (`text_withheld` says when it is not, and the immediate
    action's place says why in French); the decisions about their lots, each justification
    only when the lot reference is theirs alone."""
    attached = bool(alert["lots"]) and set(alert["lots"]) <= own
    text = {key: action[key] if attached else LEFT_OUT for key in FREE_TEXT}
    if not attached:
        text["immediate_action"] = words()["extract_text_withheld"]
    return {
        "recorded_at": action["recorded_at"],
        "action_at": action["action_at"],
        **text,
        "afsca_notified": action["afsca_notified"],
        "text_withheld": not attached,
        "lot_decisions": [
            d if d["lot_reference"] in own else {**d, "justification": LEFT_OUT}
            for d in action["lot_decisions"]
            if d["lot_reference"] in refs
        ],
    }
