"""A producer's extract of a sealed delivery record as a PDF (French unless told), rendered
from the extract only (server/records/producer_extract.py). Same look and words as the full
record's PDF (server/records/record_pdf.py), whose building blocks it reuses."""

from __future__ import annotations

from typing import Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from server.records import alerts_log
from server.records.chart import Limit, Series, chart, gap_bands, judged_bands
from server.records.document import gap_threshold
from server.records.pdfkit import H2, SMALL, TITLE, build, para, rich, table
from server.records.producer_extract import verification
from server.records.record_pdf import (
    alert_line,
    corrective_action,
    excursion_notes,
    loads_table,
    seal_section,
    sealed_at,
    stops_table,
    verdict_table,
)
from server.records.timefmt import parse
from server.records.verdict import MAX_STEP_MS
from server.records.wording import Words


def render(extract: dict[str, Any], out: BinaryIO | None = None, *, lang: str = "fr") -> bytes:
    w = Words(lang)
    record, delivery = extract["record"], extract["delivery"]
    title = w(
        "pdf_extract_title",
        delivery=delivery["id"],
        record=record["id"],
        version=record["version"],
    )
    story: list[Flowable] = [para(title, TITLE)]
    story += _header(extract, w)
    story += _loads(extract, w)
    story += _charts(extract, w)
    story += _stops(extract, w)
    story += _alerts(extract, w)
    story += _seal(extract, w)
    footer = w(
        "pdf_extract_footer",
        cooperative=extract["cooperative"]["name"],
        producer=extract["consignor"] or "—",
        delivery=delivery["id"],
        version=record["version"],
        hash=record["record_hash"],
    )
    return build(out, story, title, footer, w("pdf_page_number"))


def _header(extract: dict[str, Any], w: Words) -> list[Flowable]:
    d, record = extract["delivery"], extract["record"]
    rows = [
        (w("pdf_producer"), extract["consignor"] or "—"),
        (w("pdf_cooperative"), extract["cooperative"]["name"]),
        (w("pdf_delivery_day"), w.day(d["day"] + "T12:00:00Z")),
        (w("pdf_vehicle"), f"{d['van']['name']} ({d['van']['plate']})"),
        (
            w("pdf_departure_closing"),
            f"{w.time(d['departed_at'])} / {w.time(d['closed_at'])}",
        ),
        (
            w("pdf_sealed_at"),
            sealed_at(record["sealed_at"], d["closed_at"], record["version"], w),
        ),
    ]
    start = d["departed_at"] or d["day"] + "T00:00:00Z"
    note = w.zone_note(start, d["closed_at"] or start)
    return [table(None, rows, [45 * mm, 135 * mm]), para(f"{note} {w('pdf_extract_scope')}", SMALL)]


def _loads(extract: dict[str, Any], w: Words) -> list[Flowable]:
    return [
        para(w("pdf_extract_loads_heading"), H2),
        loads_table(extract["loads"], w, consignor=False),
        para(w("pdf_extract_verdicts_heading"), H2),
        *verdict_table(extract["loads"], w),
    ]


def _charts(extract: dict[str, Any], w: Words) -> list[Flowable]:
    out: list[Flowable] = []
    for load in extract["loads"]:
        points = sorted((int(t), float(v)) for t, v in load["readings"])
        if not points:
            continue
        start = _ms(load["on_board_from"]) or points[0][0]
        end = _ms(load["on_board_until"]) or points[-1][0] + 1
        limit = load["limit"]
        limits = [Limit(start, end, limit["max_c"], limit["min_c"], limit["tolerance_c"])]
        excursions = judged_bands(points, limits, MAX_STEP_MS)
        gaps = gap_bands(load["gaps"])
        drawing = chart(
            w.count(
                len(points),
                "pdf_extract_chart_title_one",
                "pdf_extract_chart_title_other",
                lot=load["lot_reference"],
                zone=load["zone"],
            ),
            [Series(load["channel"], points, max_step_ms=gap_threshold([t for t, _ in points]))],
            w,
            limits=limits,
            bands=[*excursions, *(band for band, _ in gaps)],
            start_ms=start,
            end_ms=end,
        )
        spans = "; ".join(f"{w.clock(band.from_ms)} – {w.clock(band.to_ms)}" for band, _ in gaps)
        note = " ".join(
            (
                w("pdf_extract_chart_limit", channel=w.name(load["channel"])),
                *excursion_notes(excursions, w),
                w("pdf_extract_chart_gaps", gaps=spans or w("pdf_none_f")),
            )
        )
        out.append(KeepTogether([drawing, para(note, SMALL), Spacer(1, 3 * mm)]))
    return [para(w("pdf_extract_charts_heading"), H2), *out] if out else out


def _stops(extract: dict[str, Any], w: Words) -> list[Flowable]:
    return [para(w("pdf_extract_stops_heading"), H2), stops_table(extract["stops"], w)]


def _alerts(extract: dict[str, Any], w: Words) -> list[Flowable]:
    out: list[Flowable] = [para(w("pdf_extract_alerts_heading"), H2)]
    if not extract["alerts"]:
        return [*out, para(w("pdf_extract_no_alert"))]
    for alert in extract["alerts"]:
        zone = w("pdf_extract_alert_zone", zone=alert["zone"] or "—")
        if alert["within_on_board"]:
            out.append(rich(alert_line(alert, w, f"{zone} — {alerts_log.text(alert, w)}")))
        else:
            shown = {**alert, "peak": None}  # its peak may be from before or after the lots
            out.append(rich(alert_line(shown, w, f"{zone} — {w('pdf_extract_alert_outside')}")))
        action = alert["corrective_action"]
        if action is not None and action.get("text_withheld"):  # said in the document's language
            alert = {
                **alert,
                "corrective_action": {**action, "immediate_action": w("extract_text_withheld")},
            }
        out.append(corrective_action(alert, w("pdf_extract_decisions"), w))
    return out


def _seal(extract: dict[str, Any], w: Words) -> list[Flowable]:
    record = extract["record"]
    return seal_section(
        w(
            "pdf_extract_seal_which",
            record=record["id"],
            version=record["version"],
            sequence=record["sequence"],
        ),
        record["record_hash"],
        record["previous_hash"],
        verification(extract, w),
        w,
    )


def _ms(value: str | None) -> int | None:
    moment = parse(value)
    return None if moment is None else int(moment.timestamp() * 1000)
