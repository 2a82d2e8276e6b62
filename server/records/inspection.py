"""The inspection export: a period x a set of vans and cold rooms -> one ZIP.

Contents (docs/records.md): a PDF summary and the readings CSV per location, the alert and
corrective-action log, the sealed delivery records of the period (PDF + JSON, every
version), the calibration register and the cooperative's HACCP plan
(server/records/haccp_plan.py), and LISEZMOI.txt (server/records/readme.py): what each file
is, the period, the locations, who exported it and when, the SHA-256 of every file.
Every entry is dated with the export's time on the site's clock; every value a person
reads in a CSV is French (a CSV without data says why). Readings go straight from the
store into the ZIP entry, one day at a time: memory stays bounded whatever the period.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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
    STAFF,
    Interval,
    Viewer,
    cold_room_windows,
    get_visible,
    visible_deliveries,
    zone_windows,
)
from server.core.errors import ApiError, invalid, require_period
from server.core.models import (
    Calibration,
    ColdRoom,
    Delivery,
    Installation,
    Organisation,
    Probe,
    Van,
)
from server.core.models.alerts import Alert
from server.core.models.records import SealedRecord
from server.domain.fleet import zones_of
from server.domain.place_readings import Place
from server.domain.users import full_name
from server.records import alerts_log, haccp_plan, record_pdf, registers
from server.records.coverage import why_empty
from server.records.formats import decimal, record_json, spreadsheet_csv, spreadsheet_row
from server.records.locations import Location, Summary, summary_pdf, write_readings
from server.records.readme import PlaceLine, readme
from server.records.timefmt import local, parse
from server.records.verdict import describe_limit
from server.records.vocabulary import value, words, yes_no
from server.records.wording import DECISION, Words

Progress = Callable[[str, int], None]  # (what, readings written so far)
Fraction = Callable[[float], None]  # share of the work done, 0.0 .. 1.0 (the pages' progress bar)
READINGS_SHARE = 0.9  # the readings are most of the work; records, registers, plan: the rest


@dataclass(frozen=True)
class InspectionRequest:
    start: datetime
    end: datetime
    van_ids: tuple[int, ...]
    cold_room_ids: tuple[int, ...]
    # The documents' language, chosen at export (an FAVV inspector gets Dutch): the words of
    # the PDFs, of LISEZMOI.txt and the CSV values; the CSV column names never change.
    lang: str = "fr"


def room_name(name: str, said: Mapping[str, str]) -> str:
    """« Chambre froide « Atelier » », but « Chambre froide du dépôt » as it is."""
    labelled = said["location_cold_room"].format(room=name)
    kind = said["location_cold_room"].format(room="").strip(" «»'").casefold()
    return name if name.casefold().startswith(kind) else labelled


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
        raise invalid("period_too_long_days", days=max_days)
    if not request.van_ids and not request.cold_room_ids:
        raise invalid("no_location")
    said = words(request.lang)
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
                    said["location_zone"].format(van=van.name, plate=van.plate, zone=zone.name),
                    Place(zone_id=zone.id),
                    windows,
                    None,
                    None,
                )
            )
    for room_id in sorted(set(request.cold_room_ids)):
        room = get_visible(session, viewer, ColdRoom, room_id)
        limit = describe_limit(
            profiles, limit_for_category(profiles, room.category, room.label_max_c)
        )
        if limit["max_basis"] == "label" and room.label_reason:
            limit["source_fr"] += f" : « {room.label_reason} »"  # the room's label, and why
        found.append(
            Location(
                f"chambre-froide-{room.id}",
                room_name(room.name, said),
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
    exported_by: str | None = None,
) -> dict[str, str]:
    """Write the ZIP to `out`; returns {file name: SHA-256}. `fraction`, if given, hears
    how far it is: one step per location and day of readings, then the records.
    `exported_by` names who asked in LISEZMOI.txt (default: the viewer's name and role)."""

    def advance(share: float) -> None:
        if fraction is not None:
            fraction(min(1.0, share))

    lang = request.lang
    said = words(lang)
    exported_at = clock.utcnow()
    stamp = zip_time(exported_at)
    steps = max(1, len(places) * _days(request.start, request.end))
    done = 0
    period = said["period_span"].format(start=local(request.start), end=local(request.end))
    hashes: dict[str, str] = {}
    files: dict[str, str] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:

        def put(name: str, what: str, writer: Callable[[Any], Any]) -> Any:
            with archive.open(entry_info(name, stamp), "w", force_zip64=True) as entry:
                hashing = _Hashing(entry)
                result = writer(hashing)
            hashes[name], files[name] = hashing.sha.hexdigest(), what
            return result

        total = 0
        alert_entries: list[tuple[str, dict[str, Any]]] = []
        lines: list[PlaceLine] = []
        for place in places:

            def tick(n: int, label: str = place.label) -> None:
                nonlocal total, done
                total += n
                done += 1  # write_readings calls this once per day written
                advance(READINGS_SHARE * done / steps)
                if progress is not None:
                    progress(label, total)

            def readings(entry: IO[bytes], place: Location = place) -> tuple[Summary, str | None]:
                summary = write_readings(
                    session, store, place, request.start, request.end, entry, progress=tick
                )
                if summary.readings:
                    return summary, None
                why = why_empty(
                    session, place.place, place.windows, request.start, request.end, lang=lang
                )
                entry.write(spreadsheet_row([why]))  # an empty CSV says why
                return summary, why

            folder = f"emplacements/{place.key}"
            summary, why = put(
                f"{folder}/releves.csv", said["file_readings"].format(place=place.label), readings
            )
            lines.append(PlaceLine(place.label, summary.readings, why))
            alerts = _alerts(session, place, request)
            alert_entries += [(place.label, a) for a in alerts]
            put(
                f"{folder}/resume.pdf",
                said["file_summary"].format(place=place.label),
                partial(summary_pdf, place, summary, alerts, period, lang=lang),
            )
        put(
            "alertes_et_actions_correctives.csv",
            said["file_alerts"],
            partial(_write, _alerts_csv(alert_entries, lang)),
        )
        advance(READINGS_SHARE)
        documents = []
        records = _records(session, viewer, request)
        for number, record in enumerate(records, 1):
            advance(READINGS_SHARE + 0.08 * number / len(records))
            doc = json.loads(record.document)
            documents.append(doc)
            name = f"enregistrements/livraison-{record.delivery_id}-v{record.version}"
            which = {"delivery": record.delivery_id, "version": record.version}
            put(
                f"{name}.pdf",
                said["file_record_pdf"].format(**which),
                partial(
                    record_pdf.render, doc, record.record_hash, record.previous_hash, lang=lang
                ),
            )
            put(
                f"{name}.json",
                said["file_record_json"].format(**which),
                partial(_write, record_json(record).encode()),
            )
        calibrations = registers.calibration_rows(
            _calibrations(session, places, request), today or clock.today(), lang
        )
        put(
            "registre_etalonnages.csv",
            said["file_calibrations"],
            partial(_write, registers.calibration_csv(calibrations, lang)),
        )
        categories = {p.category for p in places if p.category} | registers.limits_of_records(
            documents
        )
        put(
            "plan_haccp.pdf",
            said["file_plan"],
            partial(
                haccp_plan.render,
                replace(
                    haccp_plan.gather(
                        session,
                        viewer,
                        request.start,
                        request.end,
                        places,
                        profiles,
                        categories,
                        calibrations,
                        period,
                    ),
                    lang=lang,
                ),
            ),
        )
        text = readme(
            start=request.start,
            end=request.end,
            exported_at=exported_at,
            exported_by=exported_by or _who(session, viewer, lang),
            cooperatives=_cooperatives(session, viewer),
            places=lines,
            files=files,
            hashes=hashes,
            lang=lang,
        )
        archive.writestr(entry_info("LISEZMOI.txt", stamp), text.encode())
    advance(1.0)
    return hashes


def zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """A ZIP entry's date and time: `moment` on the site's clock (coldchain/clock.py), as
    the format keeps it (local time, even seconds), rounded up so that it is never before
    `moment`."""
    at = moment.astimezone(clock.zone())
    at = at.replace(microsecond=0) + timedelta(seconds=1 if at.microsecond else 0)
    at += timedelta(seconds=at.second % 2)
    return (at.year, at.month, at.day, at.hour, at.minute, at.second)


def entry_info(name: str, stamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    """A compressed file of the archive, dated `stamp`, readable by everyone once unpacked
    (without a date an entry says 1980-01-01, without modes 000 on Unix)."""
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _who(session: Session, viewer: Viewer, lang: str = "fr") -> str:
    """The viewer's name and role(s) in their cooperatives; the command line has no user."""
    name = full_name(session, viewer.user_id)
    if name is None:
        return words(lang)["readme_by_command"]
    roles = sorted({r for org in viewer.staff_coops for r in viewer.roles[org] if r in STAFF})
    return f"{name} ({', '.join(value(r, lang) for r in roles)})" if roles else name


def _cooperatives(session: Session, viewer: Viewer) -> list[str]:
    ids = viewer.staff_coops
    return list(session.scalars(select(Organisation.name).where(Organisation.id.in_(ids))))


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
    entries = alerts_log.entries(session, where & in_period, full=True)
    return [e for e in entries if _inside(place.windows, e["start_at"])]


def _inside(windows: list[Interval], at: str) -> bool:
    moment = parse(at)
    return moment is not None and any(a <= moment and (b is None or moment < b) for a, b in windows)


# The alert log's columns: a stable row of machine names (docs/records.md, "Inspection
# export"); every value under them is French.
ALERT_HEADER = [
    "debut",
    "fin",
    "emplacement",
    "type",
    "gravite",
    "etat",
    "sonde",
    "canal",
    "pic_c",
    "texte",
    "lots",
    "pris_en_charge_par",
    "pris_en_charge_le",
    "action_le",
    "action_immediate",
    "temperature_coeur_c",
    "thermometre",
    "mesure_coeur_le",
    "evaluation_produit",
    "decisions_lots",
    "cause",
    "action_preventive",
    "echeance_preventive",
    "responsable_preventive",
    "afsca_notifiee",
    "raison_afsca",
    "action_enregistree_par",
    "action_enregistree_le",
    "cloturee_par",
    "cloturee_le",
    "note_de_revue",
]


def _alerts_csv(entries: list[tuple[str, dict[str, Any]]], lang: str = "fr") -> bytes:
    """One row per alert (with the place it is about) and its whole corrective action;
    one line saying so when there is none. The alert's text in the export's language, made
    from its facts (server/records/alerts_log.py `text`)."""
    said = words(lang)
    rows = []
    for place, a in entries:
        action = a["corrective_action"] or {}
        decisions = "; ".join(
            said["decision_line"].format(
                lot=d["lot_reference"],
                decision=Words(lang).value(DECISION, d["decision"]),  # as taken: « libéré »
                justification=d["justification"],
            )
            for d in action.get("lot_decisions", [])
        )
        core = action.get("core_temperature_c")
        due = action.get("preventive_due")
        rows.append(
            [
                local(a["start_at"]),
                local(a["end_at"]),
                place,
                value(a["kind"], lang),
                value(a["severity"], lang),
                value(a["state"], lang),
                a["probe"],
                value(a["channel"], lang),
                decimal(a["peak"], 1),
                alerts_log.text(a, Words(lang)),
                ", ".join(a["lots"]),
                a["acknowledged_by"] or "",
                _when(a["acknowledged_at"]),
                _when(action.get("action_at")),
                action.get("immediate_action", ""),
                decimal(core, 1),
                action.get("thermometer") or "",
                _when(action.get("core_measured_at")),
                action.get("product_assessment", ""),
                decisions,
                action.get("root_cause", ""),
                action.get("preventive_action", ""),
                date.fromisoformat(due).strftime("%d/%m/%Y") if due else "",
                action.get("preventive_owner") or "",
                yes_no(action.get("afsca_notified"), lang),
                action.get("afsca_reason", ""),
                action.get("recorded_by") or "",
                _when(action.get("recorded_at")),
                a["closed_by"] or "",
                _when(a["closed_at"]),
                a["review_note"] or "",
            ]
        )
    return spreadsheet_csv(ALERT_HEADER, rows or [[said["no_alert"]]])


def _when(at: str | None) -> str:
    return "" if at is None else local(at)


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
