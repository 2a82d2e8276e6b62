"""The inspection export: a period x a set of vans and cold rooms -> one ZIP.

Contents (docs/records.md): a PDF summary and the readings CSV per location, the alert and
corrective-action log, the sealed delivery records of the period (PDF + JSON, every
version), the calibration register and the HACCP plan page (every limit used, with its
source or « notre choix »), and LISEZMOI.txt with the SHA-256 of every file.
Readings go straight from the store into the ZIP entry, one day at a time: memory stays
bounded whatever the period.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.limits import limit_for_category
from alerts.profiles import ProductProfile
from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.core.access import (
    Interval,
    Viewer,
    cold_room_windows,
    get_visible,
    visible_deliveries,
    zone_windows,
)
from server.core.errors import ApiError, invalid, require_period
from server.core.models import Calibration, ColdRoom, Delivery, Installation, Probe, Van
from server.core.models.alerts import Alert
from server.core.models.records import SealedRecord
from server.domain.fleet import zones_of
from server.domain.place_readings import Place
from server.records import alerts_log, record_pdf, registers
from server.records.formats import record_json, spreadsheet_csv
from server.records.locations import Location, summary_pdf, write_readings
from server.records.timefmt import local, parse
from server.records.verdict import describe_limit

Progress = Callable[[str, int], None]  # (what, readings written so far)
Fraction = Callable[[float], None]  # share of the work done, 0.0 .. 1.0 (the pages' progress bar)
READINGS_SHARE = 0.9  # the readings are most of the work; records, registers, plan: the rest


@dataclass(frozen=True)
class InspectionRequest:
    start: datetime
    end: datetime
    van_ids: tuple[int, ...]
    cold_room_ids: tuple[int, ...]


def locations(
    session: Session,
    viewer: Viewer,
    request: InspectionRequest,
    profiles: Mapping[str, ProductProfile],
    max_days: int,
) -> list[Location]:
    """Check the request against the tenancy rules and limits; the locations to export."""
    require_period(request.start, request.end)
    if request.end - request.start > timedelta(days=max_days):
        raise invalid(f"période de {max_days} jours au plus", f"at most {max_days} days")
    if not request.van_ids and not request.cold_room_ids:
        raise invalid(
            "indiquez au moins un véhicule ou une chambre froide", "name a van or a cold room"
        )
    found: list[Location] = []
    for van_id in sorted(set(request.van_ids)):
        van = get_visible(session, viewer, Van, van_id)  # 404 for another cooperative's van
        for zone in session.scalars(zones_of(van)):
            try:
                windows = zone_windows(session, viewer, zone.id)
            except ApiError:
                windows = []  # the viewer may see none of this zone's readings
            found.append(
                Location(
                    f"vehicule-{van.id}-zone-{zone.id}",
                    f"{van.name} ({van.plate}) — zone {zone.name}",
                    Place(zone_id=zone.id),
                    windows,
                    None,
                    None,
                )
            )
    for room_id in sorted(set(request.cold_room_ids)):
        room = get_visible(session, viewer, ColdRoom, room_id)
        limit = describe_limit(profiles, limit_for_category(profiles, room.category))
        found.append(
            Location(
                f"chambre-froide-{room.id}",
                f"Chambre froide {room.name}",
                Place(cold_room_id=room.id),
                cold_room_windows(session, viewer, room.id),
                limit,
                room.category,
            )
        )
    return found


class _Hashing:
    """Write-through wrapper that hashes what goes into a ZIP entry."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return self.raw.write(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self.raw.flush()

    @property
    def closed(self) -> bool:
        return False


def export(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    request: InspectionRequest,
    places: list[Location],
    profiles: Mapping[str, ProductProfile],
    out: IO[bytes],
    progress: Progress | None = None,
    today: date | None = None,
    fraction: Fraction | None = None,
) -> dict[str, str]:
    """Write the ZIP to `out`; returns {file name: SHA-256}. `fraction`, if given, hears
    how far it is: one step per location and day of readings, then the records."""

    def advance(share: float) -> None:
        if fraction is not None:
            fraction(min(1.0, share))

    steps = max(1, len(places) * _days(request.start, request.end))
    done = 0
    period = f"du {local(request.start)} au {local(request.end)}"
    hashes: dict[str, str] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:

        def put(name: str, writer: Callable[[Any], Any]) -> Any:
            with archive.open(name, "w", force_zip64=True) as entry:
                hashing = _Hashing(entry)
                result = writer(hashing)
            hashes[name] = hashing.sha.hexdigest()
            return result

        total = 0
        alert_entries: list[dict[str, Any]] = []
        for place in places:

            def tick(n: int, label: str = place.label) -> None:
                nonlocal total, done
                total += n
                done += 1  # write_readings calls this once per day written
                advance(READINGS_SHARE * done / steps)
                if progress is not None:
                    progress(label, total)

            summary = put(
                f"emplacements/{place.key}/releves.csv",
                partial(
                    write_readings, session, store, place, request.start, request.end, progress=tick
                ),
            )
            alerts = _alerts(session, place, request)
            alert_entries += alerts
            put(
                f"emplacements/{place.key}/resume.pdf",
                partial(summary_pdf, place, summary, alerts, period),
            )
        put("alertes_et_actions_correctives.csv", partial(_write, _alerts_csv(alert_entries)))
        advance(READINGS_SHARE)
        documents = []
        records = _records(session, viewer, request)
        for number, record in enumerate(records, 1):
            advance(READINGS_SHARE + 0.08 * number / len(records))
            doc = json.loads(record.document)
            documents.append(doc)
            name = f"enregistrements/livraison-{record.delivery_id}-v{record.version}"
            put(
                f"{name}.pdf",
                partial(record_pdf.render, doc, record.record_hash, record.previous_hash),
            )
            put(f"{name}.json", partial(_write, record_json(record).encode()))
        calibrations = registers.calibration_rows(
            _calibrations(session, places, request), today or clock.today()
        )
        put("registre_etalonnages.csv", partial(_write, registers.calibration_csv(calibrations)))
        categories = {p.category for p in places if p.category} | registers.limits_of_records(
            documents
        )
        put(
            "plan_haccp.pdf",
            partial(registers.haccp_plan_pdf, profiles, categories, calibrations, period),
        )
        readme = [
            f"Export d'inspection — {period} (heure de Bruxelles)",
            f"Généré le {local(clock.utcnow())}",
            "",
            "Fichiers et empreintes SHA-256 :",
        ]
        readme += [f"{digest}  {name}" for name, digest in sorted(hashes.items())]
        archive.writestr("LISEZMOI.txt", "\n".join(readme) + "\n")
    advance(1.0)
    return hashes


def _days(start: datetime, end: datetime) -> int:
    """How many days `write_readings` writes: one per Brussels calendar day in [start, end)."""
    first = start.astimezone(clock.zone()).date()
    last = (end - timedelta(microseconds=1)).astimezone(clock.zone()).date()
    return max(1, (last - first).days + 1)


def _alerts(session: Session, place: Location, request: InspectionRequest) -> list[dict[str, Any]]:
    """The location's alerts in the period that began while the viewer may see the place
    (a shared van's zone: only during the viewer's cooperative's deliveries)."""
    if place.place.zone_id is not None:
        where = Alert.zone_id == place.place.zone_id
    else:
        where = Alert.cold_room_id == place.place.cold_room_id
    in_period = (Alert.start_at < request.end) & or_(
        Alert.end_at.is_(None), Alert.end_at >= request.start
    )
    entries = alerts_log.entries(session, where & in_period)
    return [e for e in entries if _inside(place.windows, e["start_at"])]


def _inside(windows: list[Interval], at: str) -> bool:
    moment = parse(at)
    return moment is not None and any(a <= moment and (b is None or moment < b) for a, b in windows)


ALERT_HEADER = [
    "debut",
    "fin",
    "type",
    "gravite",
    "etat",
    "sonde",
    "canal",
    "pic_c",
    "texte",
    "lots",
    "action_immediate",
    "evaluation_produit",
    "cause",
    "action_preventive",
    "decisions_lots",
    "afsca_notifiee",
    "raison_afsca",
    "cloturee_par",
]


def _alerts_csv(entries: list[dict[str, Any]]) -> bytes:
    rows = []
    for a in entries:
        action = a["corrective_action"] or {}
        decisions = "; ".join(
            f"{d['lot_reference']}: {d['decision']}" for d in action.get("lot_decisions", [])
        )
        rows.append(
            [
                local(a["start_at"]),
                local(a["end_at"]),
                a["kind"],
                a["severity"],
                a["state"],
                a["probe"],
                a["channel"],
                "" if a["peak"] is None else f"{a['peak']:.1f}",
                a["text_fr"],
                ", ".join(a["lots"]),
                action.get("immediate_action", ""),
                action.get("product_assessment", ""),
                action.get("root_cause", ""),
                action.get("preventive_action", ""),
                decisions,
                _yes_no(action.get("afsca_notified")),
                action.get("afsca_reason", ""),
                a["closed_by"] or "",
            ]
        )
    return spreadsheet_csv(ALERT_HEADER, rows)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "oui" if value else "non"


def _write(data: bytes, out: IO[bytes]) -> None:
    out.write(data)


def _records(session: Session, viewer: Viewer, request: InspectionRequest) -> list[SealedRecord]:
    first = request.start.astimezone(UTC).date() - timedelta(days=1)
    deliveries = select(Delivery.id).where(
        visible_deliveries(viewer),
        Delivery.van_id.in_(request.van_ids),
        Delivery.day >= first,
        Delivery.day <= request.end.astimezone(clock.zone()).date(),  # a Belgian calendar day
    )
    return list(
        session.scalars(
            select(SealedRecord)
            .where(SealedRecord.delivery_id.in_(deliveries))
            .order_by(SealedRecord.delivery_id, SealedRecord.version)
        )
    )


def _calibrations(
    session: Session, places: list[Location], request: InspectionRequest
) -> list[tuple[Calibration, Probe]]:
    zone_ids = [p.place.zone_id for p in places if p.place.zone_id is not None]
    room_ids = [p.place.cold_room_id for p in places if p.place.cold_room_id is not None]
    probes = select(Installation.probe_id).where(
        or_(Installation.zone_id.in_(zone_ids), Installation.cold_room_id.in_(room_ids)),
        Installation.start < request.end,
        or_(Installation.end.is_(None), Installation.end > request.start),
    )
    rows = session.execute(
        select(Calibration, Probe)
        .join(Probe, Probe.id == Calibration.probe_id)
        .where(Calibration.probe_id.in_(probes), Calibration.calibrated_at < request.end)
    ).all()
    return [(c, p) for c, p in rows]
