"""A producer's extract of a sealed delivery record as a French PDF (rendered from the
extract only: server/records/producer_extract.py). Same look as the full record's PDF
(server/records/record_pdf.py), whose building blocks it reuses."""

from __future__ import annotations

from typing import Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from server.records.chart import Limit, chart, excursion_spans
from server.records.pdfkit import BODY, H2, SMALL, TITLE, build, para, rich, table
from server.records.record_pdf import SEVERITIES, stops_table, verdict_table
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
    out: list[Flowable] = [para("Vos lots (traçabilité, Règl. (UE) 931/2011)", H2)]
    rows = [
        (
            load["lot_reference"],
            load["description"],
            load["category_fr"],
            f"{load['quantity']} {load['unit']}",
            load["consignee"],
            f"{load['zone']} (arrêts {load['pickup_stop']} → {load['drop_stop']})",
        )
        for load in extract["loads"]
    ]
    widths = [25 * mm, 40 * mm, 32 * mm, 20 * mm, 35 * mm, 28 * mm]
    header = ["Lot", "Description", "Catégorie", "Quantité", "Destinataire", "Zone"]
    out.append(table(header, rows, widths))
    out.append(para("Températures et verdict par lot (pendant que le lot était à bord)", H2))
    out += verdict_table(extract["loads"])
    return out


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
        action = alert["corrective_action"]
        if action is None:
            out.append(para(f"   Pas encore d'action corrective (état : {alert['state']}).", SMALL))
            continue
        decisions = "; ".join(
            f"{d['lot_reference']} : {d['decision']} ({d['justification']})"
            for d in action["lot_decisions"]
        )
        out.append(
            para(
                f"   Action corrective ({local(action['action_at'])}) : "
                f"{action['immediate_action']}. "
                f"Évaluation du produit : {action['product_assessment']}. "
                f"Cause : {action['root_cause']}. Prévention : {action['preventive_action']}. "
                f"Décisions pour vos lots : {decisions or '—'}. "
                f"AFSCA notifiée : {'oui' if action['afsca_notified'] else 'non'} "
                f"({action['afsca_reason']}).",
                SMALL,
            )
        )
    return out


def _seal(extract: dict[str, Any]) -> list[Flowable]:
    record = extract["record"]
    mono = "<font name='Courier' size='7.5'>{}</font>"
    return [
        para("Scellement et vérification", H2),
        para(
            f"Enregistrement n° {record['id']}, version {record['version']}, "
            f"n° {record['sequence']} de la chaîne de la coopérative."
        ),
        rich(f"Empreinte SHA-256 : {mono.format(record['record_hash'])}", BODY),
        rich(f"Empreinte précédente : {mono.format(record['previous_hash'])}", BODY),
        para(extract["verification_fr"], SMALL),
    ]
