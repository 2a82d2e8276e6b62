"""The delivery record as a PDF (French unless told), rendered from the sealed document only
(so every version stays exportable exactly as sealed). Every word comes from the `records`
catalogue (server/records/wording.py); the charts are server/records/chart.py's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from alerts.findings import AlertKind
from coldchain.protocol import EVENT_CHANNELS, TEMPERATURE_CHANNELS
from server.core.models.alerts import Decision
from server.domain import categories
from server.records import alerts_log, changes, verification
from server.records.chart import (
    BEYOND,
    DOOR,
    LATE,
    OFFLINE,
    TOLERATED,
    Band,
    Limit,
    Series,
    chart,
    gap_bands,
    judged_bands,
    open_periods,
)
from server.records.document import gap_threshold
from server.records.pdfkit import (
    BODY,
    H2,
    MONO,
    SMALL,
    TITLE,
    VERDICT_COLOURS,
    build,
    para,
    rich,
    table,
)
from server.records.timefmt import moment_of, parse, utc_offset
from server.records.verdict import MAX_STEP_MS, rule_in, source_in
from server.records.wording import CHECK_SOURCE, DECISION, STOP_KIND, VERDICT, Words

# A lot's decision after an excursion, as the documents (PDFs, CSVs) print it, never a code:
# records.po, context "decision" (French here; `decision_name` for another language).
DECISIONS: dict[str, str] = {code: Words().value(DECISION, code) for code in Decision}


def decision_name(code: str, lang: str = "fr") -> str:
    return Words(lang).value(DECISION, code)


def render(
    doc: dict[str, Any],
    record_hash: str,
    previous_hash: str,
    out: BinaryIO | None = None,
    *,
    lang: str = "fr",
    earlier: Mapping[str, Any] | None = None,
) -> bytes:
    """The record's PDF. `earlier`: the previous version's document, when known: readings
    this version has and it had not are shown as late data on the charts."""
    w = Words(lang)
    delivery = doc["delivery"]
    title = w("pdf_record_title", delivery=delivery["id"], version=doc["version"])
    story: list[Flowable] = [para(title, TITLE)]
    story += _header(doc, w)
    story += _loads(doc, w)
    story += _zones(doc, w, earlier)
    story += _stops(doc, w)
    story += _alerts(doc, w)
    story += _quality(doc, w)
    story += _seal(doc, record_hash, previous_hash, w)
    footer = w(
        "pdf_record_footer",
        cooperative=doc["cooperative"]["name"],
        delivery=delivery["id"],
        version=doc["version"],
        hash=record_hash,
    )
    return build(out, story, title, footer, w("pdf_page_number"))


def _header(doc: dict[str, Any], w: Words) -> list[Flowable]:
    d = doc["delivery"]
    rows = [
        (w("pdf_cooperative"), doc["cooperative"]["name"]),
        (w("pdf_delivery_day"), w.day(d["day"] + "T12:00:00Z")),
        (w("pdf_vehicle"), f"{d['van']['name']} ({d['van']['plate']})"),
        (w("pdf_driver"), d["driver"] or "—"),
        (w("pdf_departure"), w.time(d["departed_at"])),
        (w("pdf_closing"), w("pdf_at_by", at=w.time(d["closed_at"]), who=d["closed_by"] or "—")),
        (
            w("pdf_sealed_at"),
            sealed_at(doc["sealed_at"], d["closed_at"], doc["version"], w),
        ),
    ]
    out: list[Flowable] = [table(None, rows, [45 * mm, 135 * mm])]
    start = d["departed_at"] or d["day"] + "T00:00:00Z"
    out.append(para(w.zone_note(start, d["closed_at"] or start), SMALL))
    if doc["version"] > 1:
        out.append(para(w("pdf_changes_since", version=doc["version"] - 1), H2))
        out += [para(f"– {change}") for change in changes.in_language(doc, w)]
    for check in doc["departure_checks"]:
        out.append(
            para(
                w(
                    "pdf_departure_check",
                    zone=check["zone"],
                    temperature=w.celsius(check["temperature_c"]),
                    limit=w.celsius(check["limit_c"]),
                    at=w.time(check["checked_at"]),
                    who=check["checked_by"] or "—",
                    source=w.value(CHECK_SOURCE, check["source"]),
                )
            )
        )
    return out


def sealed_at(sealed: str, closed: str | None, version: int, w: Words) -> str:
    """When it was sealed; with its UTC offset when it differs from the delivery's (sealed
    after a clock change): the document states the delivery's offset once."""
    text = w("pdf_at_version", at=w.time(sealed), version=version)
    offset = utc_offset(moment_of(sealed))
    if closed is not None and offset != utc_offset(moment_of(closed)):
        text += f" ({offset})"
    return text


def limit_text(limit: dict[str, Any], w: Words) -> str:
    """The limit in force and its source, as the PDFs print it (shared with producer_pdf)."""
    parts = []
    if limit["max_c"] is not None:
        parts.append(w("pdf_limit_max", value=w.celsius(limit["max_c"])))
    if limit["min_c"] is not None:
        parts.append(w("pdf_limit_min", value=w.celsius(limit["min_c"])))
    if limit["tolerance_c"] is not None:
        parts.append(
            w(
                "pdf_limit_tolerance",
                value=w.celsius(limit["tolerance_c"]),
                minutes=w.number(limit["tolerance_min"]),
            )
        )
    return w(
        "pdf_limit_with_source",
        limit=", ".join(parts) or w("pdf_limit_none"),
        source=source_in(limit, w),
    )


def _loads(doc: dict[str, Any], w: Words) -> list[Flowable]:
    return [
        para(w("pdf_loads_heading"), H2),
        loads_table(doc["loads"], w, consignor=True),
        para(w("pdf_verdicts_heading"), H2),
        *verdict_table(doc["loads"], w),
    ]


def category_name(load: Mapping[str, Any], w: Words) -> str:
    """A load's category: its French name as sealed; in another language, the category's
    name in it (alerts/profiles.toml) when the code is still known."""
    known = categories.profiles().get(str(load.get("category", ""))) if w.lang != "fr" else None
    return known.name(w.lang) if known else str(load["category_fr"])


def loads_table(loads: list[dict[str, Any]], w: Words, consignor: bool) -> Flowable:
    """The lots with their traceability fields (931/2011); the producer's extract
    (producer_pdf.py) leaves out the consignor: the producer themselves."""
    rows = [
        (
            load["lot_reference"],
            load["description"],
            category_name(load, w),
            w.quantity(load["quantity"], load["unit"]),
            *([load["consignor"]] if consignor else []),
            load["consignee"],
            w(
                "pdf_load_zone",
                zone=load["zone"],
                pickup=load["pickup_stop"] if load["pickup_stop"] is not None else "—",
                drop=load["drop_stop"] if load["drop_stop"] is not None else "—",
            ),
        )
        for load in loads
    ]
    header = [
        w("pdf_col_lot"),
        w("pdf_col_description"),
        w("pdf_col_category"),
        w("pdf_col_quantity"),
    ]
    header += [w("pdf_col_consignee"), w("pdf_col_zone")]
    widths = [25 * mm, 40 * mm, 32 * mm, 20 * mm, 35 * mm, 28 * mm]
    if consignor:  # one more column: the others narrower
        header.insert(4, w("pdf_col_consignor"))
        widths = [22 * mm, 32 * mm, 30 * mm, 18 * mm, 27 * mm, 27 * mm, 24 * mm]
    return table(header, rows, widths)


def _zones(doc: dict[str, Any], w: Words, earlier: Mapping[str, Any] | None) -> list[Flowable]:
    out: list[Flowable] = [para(w("pdf_zones_heading"), H2)]
    earlier_zones = {z["id"]: z for z in (earlier or {}).get("zones", [])}
    delivery = doc["delivery"]
    span = (_ms(delivery["departed_at"]), _ms(delivery["closed_at"]))
    for zone in doc["zones"]:
        drawing, facts = zone_chart(zone, doc["loads"], w, earlier_zones.get(zone["id"]), span)
        c = _columns(zone)
        calibrated = sum(1 for row in zone["readings"] if row[c["calibration_id"]] is not None)
        notes = [w("pdf_zone_note_limit", channel=w.name(facts["judged"]))]
        notes += excursion_notes(facts["excursions"], w)
        notes.append(
            w.count(calibrated, "pdf_zone_note_calibrated_one", "pdf_zone_note_calibrated_other")
        )
        if facts["late"]:
            notes.append(
                w.count(facts["late"], "pdf_zone_note_late_one", "pdf_zone_note_late_other")
            )
        out.append(KeepTogether([drawing, para(" ".join(notes), SMALL), Spacer(1, 2 * mm)]))
        out += [*channel_table(facts["lines"], facts["doors"], w), Spacer(1, 3 * mm)]
    return out


def excursion_notes(bands: Sequence[Band], w: Words) -> list[str]:
    """How many periods the chart shades beyond the limit, and as tolerated rises."""
    beyond = sum(1 for band in bands if band.kind == BEYOND)
    tolerated = sum(1 for band in bands if band.kind == TOLERATED)
    notes = [w.count(beyond, "pdf_zone_note_beyond_one", "pdf_zone_note_beyond_other")]
    if tolerated:
        notes.append(
            w.count(tolerated, "pdf_zone_note_tolerated_one", "pdf_zone_note_tolerated_other")
        )
    return notes


def _ms(value: str | None) -> int | None:
    moment = parse(value)
    return None if moment is None else int(moment.timestamp() * 1000)


def _stops(doc: dict[str, Any], w: Words) -> list[Flowable]:
    return [para(w("pdf_stops_heading"), H2), stops_table(doc["stops"], w)]


def stops_table(stops: list[dict[str, Any]], w: Words) -> Flowable:
    """The stops in their order, each with its handover (time, zone and core temperatures,
    each lot's decision, the receiver) or « pas de remise »: one table for the delivery
    record and the producer's extract (producer_pdf.py), from the sealed document's stops."""
    rows = []
    for stop in stops:
        handover = stop["handover"]
        head = (
            stop["sequence"],
            w.value(STOP_KIND, stop["kind"]),
            f"{stop['place_name']}, {stop['address']}",
        )
        if handover is None:
            rows.append((*head, w.time(stop["planned_at"]), w("pdf_no_handover"), "—"))
            continue
        temps = ", ".join(
            f"{t['zone']} {w.celsius(t['temperature_c'])}" for t in handover["zone_temperatures"]
        )
        if handover["core_temperature_c"] is not None:
            core = w("pdf_core_at_handover", value=w.celsius(handover["core_temperature_c"]))
            temps = f"{temps} ; {core}" if temps else core
        decisions = "; ".join(
            w("pdf_lot_accepted", lot=d["lot_reference"])
            if d["accepted"]
            else w(
                "pdf_lot_refused", lot=d["lot_reference"], reason=d["reason"] or w("pdf_no_reason")
            )
            for d in handover["decisions"]
        )
        who = handover["receiver_name"] or "—"
        rows.append(
            (
                *head,
                w.time(handover["at"]),
                temps or "—",
                w("pdf_decisions_receiver", decisions=decisions or "—", receiver=who),
            )
        )
    header = [w("pdf_col_number"), w("pdf_col_kind"), w("pdf_col_place"), w("pdf_col_time")]
    header += [w("pdf_col_temperatures"), w("pdf_col_decisions")]
    return table(header, rows, [8 * mm, 18 * mm, 45 * mm, 22 * mm, 35 * mm, 52 * mm])


def _alerts(doc: dict[str, Any], w: Words) -> list[Flowable]:
    out: list[Flowable] = [para(w("pdf_alerts_heading"), H2)]
    if not doc["alerts"]:
        return [*out, para(w("pdf_no_alert"))]
    for alert in doc["alerts"]:
        out.append(rich(alert_line(alert, w, alerts_log.text(alert, w))))
        out.append(corrective_action(alert, w("pdf_decisions"), w))
    return out


def corrective_action(
    alert: Mapping[str, Any], decisions_title: str, w: Words | None = None
) -> Flowable:
    """The alert's corrective action (with the core temperature taken and the thermometer,
    and each lot's decision in words), or that there is none yet; who recorded it when the
    document names them (the producer's extract, producer_pdf.py, names no one)."""
    w = w or Words()
    action = alert["corrective_action"]
    if action is None:
        return para("   " + w("pdf_no_action", state=w.name(alert["state"])), SMALL)
    decisions = "; ".join(
        w(
            "decision_line",
            lot=d["lot_reference"],
            decision=w.value(DECISION, d["decision"]),
            justification=d["justification"],
        )
        for d in action["lot_decisions"]
    )
    when = w.time(action["action_at"])
    if action.get("recorded_by"):
        when = f"{action['recorded_by']}, {when}"
    parts = [
        w("pdf_action_taken", when=when, action=action["immediate_action"]),
        w("pdf_action_assessment", assessment=action["product_assessment"]),
    ]
    core = action.get("core_temperature_c")
    if core is not None:
        thermometer = action.get("thermometer") or w("pdf_thermometer_unknown")
        parts.append(w("pdf_action_core", value=w.celsius(core), thermometer=thermometer))
        if action.get("core_measured_at"):
            parts.append(w("pdf_action_core_at", at=w.time(action["core_measured_at"])))
    elif "core_temperature_c" in action:
        parts.append(w("pdf_action_no_core"))
    parts.append(w("pdf_action_cause", cause=action["root_cause"]))
    prevention = w("pdf_action_prevention", prevention=action["preventive_action"])
    if action.get("preventive_due"):
        prevention += " " + w(
            "pdf_action_prevention_due", day=w.day(action["preventive_due"] + "T12:00:00Z")
        )
    parts.append(prevention)
    parts.append(w("pdf_action_decisions", title=decisions_title, decisions=decisions or "—"))
    parts.append(
        w(
            "pdf_action_afsca",
            notified=w("yes") if action["afsca_notified"] else w("no"),
            reason=action["afsca_reason"],
        )
    )
    return para("   " + " ".join(parts), SMALL)


def _quality(doc: dict[str, Any], w: Words) -> list[Flowable]:
    out: list[Flowable] = [para(w("pdf_quality_heading"), H2)]
    for zone in doc["zones"]:
        q = zone["quality"]
        gaps = gap_bands(q["gaps"])
        offline = sum(1 for band, _ in gaps if band.kind == OFFLINE)
        text = w(
            "pdf_quality_zone",
            zone=zone["name"],
            readings=w.count(q["readings"], "pdf_n_readings_one", "pdf_n_readings_other"),
            gaps=w(
                "pdf_gaps_offline",
                gaps=w.count(len(gaps), "pdf_n_gaps_one", "pdf_n_gaps_other"),
                offline=w.count(offline, "pdf_n_offline_one", "pdf_n_offline_other"),
            )
            if gaps
            else w("pdf_no_gap"),
            unsynced=w.count(q["unsynced_readings"], "pdf_n_unsynced_one", "pdf_n_unsynced_other"),
            faults=w.count(q["faults"], "pdf_n_faults_one", "pdf_n_faults_other"),
        )
        out.append(para(text))
        for band, channels in gaps[:20]:
            out.append(
                para(
                    "   "
                    + w(
                        "pdf_gap_line",
                        channels=", ".join(w.name(ch) for ch in channels),
                        start=w.time(band.from_ms),
                        end=w.time(band.to_ms),
                        minutes=w.number((band.to_ms - band.from_ms) / 60_000, 0),
                        cause=w("pdf_gap_offline" if band.kind == OFFLINE else "pdf_gap_silent"),
                    ),
                    SMALL,
                )
            )
    if doc["version"] > 1:
        out.append(para(w("pdf_quality_late"), SMALL))
    return out


def _seal(doc: dict[str, Any], record_hash: str, previous_hash: str, w: Words) -> list[Flowable]:
    return seal_section(
        w("pdf_seal_which", sequence=doc["sequence"], version=doc["version"]),
        record_hash,
        previous_hash,
        w("pdf_seal_how_to_check"),
        w,
    ) + verification.qr_block(record_hash, w.lang)  # the shop's public check: QR and code


def seal_section(
    which: str, record_hash: str, previous_hash: str, how_to_check: str, w: Words
) -> list[Flowable]:
    """Which record in the chain, its hashes, how to check them (record and extract)."""
    mono = f"<font name='{MONO}' size='7.5'>{{}}</font>"
    return [
        para(w("pdf_seal_heading"), H2),
        para(which),
        rich(f"{escape(w('pdf_seal_hash'))} {mono.format(escape(record_hash))}", BODY),
        rich(f"{escape(w('pdf_seal_previous_hash'))} {mono.format(escape(previous_hash))}", BODY),
        para(how_to_check, SMALL),
    ]


def verdict_table(loads: list[dict[str, Any]], w: Words) -> list[Flowable]:
    """Per lot: the limit in force, time on board, min/max/mean, minutes beyond, verdict and
    its rule; shared by the delivery record and the producer's extract (producer_pdf.py)."""
    rows, colours = [], []
    for load in loads:
        s = load["stats"]
        verdict = load["verdict"]
        rows.append(
            (
                load["lot_reference"],
                limit_text(load["limit"], w),
                f"{w.clock(load['on_board_from'])} – {w.clock(load['on_board_until'])}",
                f"{w.celsius(s['min'])} / {w.celsius(s['max'])} / {w.celsius(s['mean'])}",
                f"{w.number(s['minutes_above'])} / {w.number(s['minutes_below'])}",
                w(
                    "pdf_verdict_with_rule",
                    verdict=w.value(VERDICT, verdict["code"]).upper(),
                    rule=rule_in(load, w),
                ),
            )
        )
        colours.append(VERDICT_COLOURS.get(verdict["code"]))
    header = [
        w("pdf_col_lot"),
        w("pdf_col_limit"),
        w("pdf_col_on_board"),
        w("pdf_col_min_max_mean"),
        w("pdf_col_minutes_beyond"),
        w("pdf_col_verdict"),
    ]
    widths = [22 * mm, 42 * mm, 17 * mm, 27 * mm, 18 * mm, 54 * mm]
    return [
        table(header, rows, widths, colours),
        para(w("pdf_verdict_note", minutes=MAX_STEP_MS // 60000), SMALL),
    ]


def segment_tolerance(
    segment: Mapping[str, Any], loads: Sequence[Mapping[str, Any]]
) -> float | None:
    """The transport tolerance of a zone's limit segment: that of the lot setting its max
    (alerts/limits.py); none when a lot with the same max has none (a label temperature)."""
    if segment["max_c"] is None:
        return None
    setting = [
        load["limit"]
        for load in loads
        if load["lot_reference"] in segment.get("lots", ())
        and load["limit"]["max_c"] == segment["max_c"]
    ]
    tolerances = [limit["tolerance_c"] for limit in setting]
    if not tolerances or any(t is None for t in tolerances):
        return None
    return float(min(t for t in tolerances if t is not None))


def _columns(zone: Mapping[str, Any]) -> dict[str, int]:
    return {name: index for index, name in enumerate(zone["reading_columns"])}


def zone_series(zone: Mapping[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """Channel -> (time, calibrated value) of the zone's readings, in time order."""
    c = _columns(zone)
    lines: dict[str, list[tuple[int, float]]] = {}
    for row in zone["readings"]:
        if row[c["value"]] is not None:
            lines.setdefault(row[c["channel"]], []).append((row[c["time_ms"]], row[c["value"]]))
    for points in lines.values():
        points.sort()
    return lines


def late_bands(
    zone: Mapping[str, Any], earlier_zone: Mapping[str, Any] | None
) -> tuple[list[Band], int]:
    """Spans of the readings this version has and the previous one had not (late data),
    and how many readings they are."""
    if earlier_zone is None:
        return [], 0
    c, e = _columns(zone), _columns(earlier_zone)
    known = {
        (row[e["time_ms"]], row[e["probe"]], row[e["channel"]]) for row in earlier_zone["readings"]
    }
    times = sorted(
        row[c["time_ms"]]
        for row in zone["readings"]
        if (row[c["time_ms"]], row[c["probe"]], row[c["channel"]]) not in known
    )
    threshold = gap_threshold(times) or MAX_STEP_MS
    bands: list[Band] = []
    for t in times:
        if bands and t - bands[-1].to_ms <= threshold:
            bands[-1] = Band(bands[-1].from_ms, t, LATE)
        else:
            bands.append(Band(t, t, LATE))
    return [Band(b.from_ms, max(b.to_ms, b.from_ms + 60_000), LATE) for b in bands], len(times)


def zone_chart(
    zone: Mapping[str, Any],
    loads: Sequence[Mapping[str, Any]],
    w: Words,
    earlier_zone: Mapping[str, Any] | None = None,
    span: tuple[int | None, int | None] = (None, None),
) -> tuple[Drawing, dict[str, Any]]:
    """The zone's chart (temperatures with the limit in force, other channels in their own
    panels, door and gaps as bands) over the readings and `span` (the delivery's departure
    and closing), and what its note says about it."""
    lines = zone_series(zone)
    limits = [
        Limit(x["from_ms"], x["to_ms"], x["max_c"], x["min_c"], segment_tolerance(x, loads))
        for x in zone["limits"]
    ]
    times = [t for points in lines.values() for t, _ in points]
    times += [t for t in span if t is not None]
    if not times:  # nothing but the limits: their span
        times = [t for lim in limits for t in (lim.from_ms, lim.to_ms)]
    start, end = (min(times), max(times)) if times else (0, 0)
    judged = "product" if "product" in lines else "air"
    excursions = judged_bands(lines.get(judged, []), limits, MAX_STEP_MS)
    doors = [
        (a, b)
        for channel in sorted(EVENT_CHANNELS & lines.keys())
        for a, b in open_periods(lines[channel], end)
    ]
    gaps = gap_bands(zone["quality"]["gaps"])
    late, late_count = late_bands(zone, earlier_zone)
    bands = [*excursions, *(Band(a, b, DOOR) for a, b in doors), *(g for g, _ in gaps), *late]
    series = [
        Series(channel, points, max_step_ms=gap_threshold([t for t, _ in points]))
        for channel, points in sorted(lines.items())
        if channel not in EVENT_CHANNELS
    ]
    title = w.count(
        len(zone["readings"]),
        "pdf_zone_chart_title_one",
        "pdf_zone_chart_title_other",
        zone=zone["name"],
    )
    drawing = chart(title, series, w, limits=limits, bands=bands, start_ms=start, end_ms=end)
    facts = {
        "judged": judged,
        "excursions": excursions,
        "doors": doors,
        "late": late_count,
        "lines": lines,
    }
    return drawing, facts


def channel_table(
    lines: Mapping[str, Sequence[tuple[int, float]]],
    doors: Sequence[tuple[int, int]],
    w: Words,
) -> list[Flowable]:
    """Per sampled channel of a zone: readings, min / max / mean in its own unit; then how
    many times and how long the door (an event channel) was open."""
    rows = [
        (
            w.name(channel),
            w.number(len(lines[channel])),
            w.measure(channel, min(v for _, v in lines[channel])),
            w.measure(channel, max(v for _, v in lines[channel])),
            w.measure(channel, sum(v for _, v in lines[channel]) / len(lines[channel])),
        )
        for channel in sorted(lines, key=lambda ch: (ch not in TEMPERATURE_CHANNELS, ch))
        if channel not in EVENT_CHANNELS and lines[channel]
    ]
    out: list[Flowable] = []
    if rows:
        header = [w("pdf_col_channel"), w("pdf_col_readings"), w("pdf_col_min")]
        header += [w("pdf_col_max"), w("pdf_col_mean")]
        out.append(table(header, rows, [40 * mm, 30 * mm, 35 * mm, 35 * mm, 35 * mm]))
    if EVENT_CHANNELS & lines.keys():
        minutes = sum(b - a for a, b in doors) / 60_000
        out.append(
            para(
                w(
                    "pdf_door_line",
                    openings=w.count(
                        len(doors), "pdf_door_openings_one", "pdf_door_openings_other"
                    ),
                    minutes=w.number(minutes, 0),
                ),
                SMALL,
            )
        )
    return out


def alert_line(alert: Mapping[str, Any], w: Words, detail: str | None = None) -> str:
    """An alert's severity, kind, span and peak (in its channel's unit), as escaped markup."""
    # The peak in its channel's unit (an extract names no channel: a temperature alert's is
    # a temperature); a door's or a probe's alert has no value to print.
    channel = alert.get("channel") or (
        "air" if alert.get("kind") == AlertKind.TEMPERATURE.value else None
    )
    peak = ""
    if alert.get("peak") is not None and channel is not None and channel not in EVENT_CHANNELS:
        peak = w("pdf_alert_peak", value=w.measure(channel, alert["peak"]))
    text = w(
        "pdf_alert_line",
        kind=w.name(alert.get("kind")),
        start=w.time(alert["start_at"]),
        end=w.time(alert["end_at"]) if alert["end_at"] else w("pdf_alert_going_on"),
        peak=peak,
        lots=", ".join(alert["lots"]) or "—",
    )
    severity = escape(w.name(alert["severity"]))
    line = f"<b>{severity}</b> — {escape(text)}"
    return w("pdf_alert_with_detail", alert=line, detail=escape(detail)) if detail else line
