"""A producer's extract of a sealed delivery record as a French PDF (rendered from the
extract only: server/records/producer_extract.py). Same look as the full record's PDF
(server/records/record_pdf.py), whose building blocks it reuses."""

from __future__ import annotations

from typing import Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from server.records.chart import Limit, chart, excursion_spans
from server.records.pdfkit import H2, SMALL, TITLE, build, para, table
from server.records.record_pdf import (
    SEVERITIES,
    corrective_action,
    loads_table,
    seal_section,
    stops_table,
    verdict_table,
)
from server.records.timefmt import celsius, local
from server.records.verdict import MAX_STEP_MS


def render(extract: dict[str, Any], out: BinaryIO | None = None) -> bytes:
    record, delivery = extract["record"], extract["delivery"]
    title = (
        f"Extrait producteur — livraison n° {delivery['id']} "
        f"(enregistrement n° {record['id']}, version {record['version']})"
    )
    story: list[Flowable] = [para(title, TITLE)]
    story += _header(extract)
    story += _loads(extract)
    story += _charts(extract)
    story += _stops(extract)
    story += _alerts(extract)
    story += _seal(extract)
    footer = (
        f"{extract['cooperative']['name']} — extrait pour {extract['consignor'] or '—'} — "
        f"livraison {delivery['id']} v{record['version']} — SHA-256 {record['record_hash']}"
    )
    return build(out, story, title, footer)


def _header(extract: dict[str, Any]) -> list[Flowable]:
    d, record = extract["delivery"], extract["record"]
    rows = [
        ("Producteur (expéditeur)", extract["consignor"] or "—"),
        ("Coopérative", extract["cooperative"]["name"]),
        ("Date de la livraison", local(d["day"] + "T12:00:00Z", "%d/%m/%Y")),
        ("Véhicule", f"{d['van']['name']} ({d['van']['plate']})"),
        ("Départ / clôture", f"{local(d['departed_at'])} / {local(d['closed_at'])}"),
        ("Scellé le", f"{local(record['sealed_at'])} (version {record['version']})"),
    ]
    return [
        table(None, rows, [45 * mm, 135 * mm]),
        para(
            "Heures en heure de Bruxelles. Cet extrait ne montre que vos lots, et les "
            "températures du véhicule pendant qu'ils étaient à bord.",
            SMALL,
        ),
    ]


def _loads(extract: dict[str, Any]) -> list[Flowable]:
    return [
        para("Vos lots (traçabilité, Règl. (UE) 931/2011)", H2),
        loads_table(extract["loads"], consignor=False),
        para("Températures et verdict par lot (pendant que le lot était à bord)", H2),
        *verdict_table(extract["loads"]),
    ]


def _charts(extract: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = []
    for load in extract["loads"]:
        points = [(t, v) for t, v in load["readings"]]
        if not points:
            continue
        start, end = points[0][0], points[-1][0] + 1
        limits = [Limit(start, end, load["limit"]["max_c"], load["limit"]["min_c"])]
        spans = excursion_spans(points, limits, MAX_STEP_MS)
        drawing = chart(
            f"Lot {load['lot_reference']} — zone {load['zone']}, {len(points)} mesures à bord",
            {load["channel"]: points},
            limits,
            spans,
        )
        gaps = "; ".join(
            f"{local(g['from_ms'], '%H:%M')} – {local(g['to_ms'], '%H:%M')}" for g in load["gaps"]
        )
        note = para(
            "Ligne rouge : la limite de ce lot. Zones rouges : hors limite "
            f"({len(spans)} période(s)). Interruptions des mesures à bord : {gaps or 'aucune'}.",
            SMALL,
        )
        out.append(KeepTogether([drawing, note, Spacer(1, 3 * mm)]))
    return [para("Températures à bord", H2), *out] if out else out


def _stops(extract: dict[str, Any]) -> list[Flowable]:
    return [para("Enlèvement et livraison de vos lots", H2), stops_table(extract["stops"])]


def _alerts(extract: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [para("Alertes concernant vos lots et actions correctives", H2)]
    if not extract["alerts"]:
        return [*out, para("Aucune alerte ne concerne vos lots pendant cette livraison.")]
    for alert in extract["alerts"]:
        detail = (
            f"pic {celsius(alert['peak'])} : {alert['text_fr']}"
            if alert["within_on_board"]
            else "alerte commencée avant le chargement de vos lots ou finie après : son détail "
            "est dans l'enregistrement complet de la coopérative"
        )
        out.append(
            para(
                f"{SEVERITIES.get(alert['severity'], alert['severity'])} — zone "
                f"{alert['zone'] or '—'}, {local(alert['start_at'])} → {local(alert['end_at'])}, "
                f"lots {', '.join(alert['lots']) or '—'} — {detail}"
            )
        )
        out.append(corrective_action(alert, "Décisions pour vos lots"))
    return out


def _seal(extract: dict[str, Any]) -> list[Flowable]:
    record = extract["record"]
    return seal_section(
        f"Enregistrement n° {record['id']}, version {record['version']}, "
        f"n° {record['sequence']} de la chaîne de la coopérative.",
        record["record_hash"],
        record["previous_hash"],
        extract["verification_fr"],
    )
