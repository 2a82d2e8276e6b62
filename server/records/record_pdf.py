"""The delivery record as a French PDF, rendered from the sealed document only (so every
version stays exportable exactly as sealed)."""

from __future__ import annotations

from typing import Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from server.records.chart import Limit, chart, excursion_spans
from server.records.pdfkit import BODY, H2, SMALL, TITLE, VERDICT_COLOURS, build, para, rich, table
from server.records.timefmt import celsius, local
from server.records.verdict import MAX_STEP_MS

KINDS = {"pickup": "enlèvement", "drop": "livraison"}
SEVERITIES = {
    "critical": "critique",
    "warning": "avertissement",
    "tolerated": "toléré",
    "info": "info",
}


def render(
    doc: dict[str, Any], record_hash: str, previous_hash: str, out: BinaryIO | None = None
) -> bytes:
    delivery = doc["delivery"]
    title = f"Enregistrement HACCP — livraison n° {delivery['id']} (version {doc['version']})"
    story: list[Flowable] = [para(title, TITLE)]
    story += _header(doc)
    story += _loads(doc)
    story += _zones(doc)
    story += _stops(doc)
    story += _alerts(doc)
    story += _quality(doc)
    story += _seal(doc, record_hash, previous_hash)
    footer = (
        f"{doc['cooperative']['name']} — livraison {delivery['id']} v{doc['version']}"
        f" — SHA-256 {record_hash}"
    )
    return build(out, story, title, footer)


def _header(doc: dict[str, Any]) -> list[Flowable]:
    d = doc["delivery"]
    rows = [
        ("Coopérative", doc["cooperative"]["name"]),
        ("Date de la livraison", local(d["day"] + "T12:00:00Z", "%d/%m/%Y")),
        ("Véhicule", f"{d['van']['name']} ({d['van']['plate']})"),
        ("Chauffeur", d["driver"] or "—"),
        ("Départ", local(d["departed_at"])),
        ("Clôture", f"{local(d['closed_at'])} par {d['closed_by'] or '—'}"),
        ("Scellé le", f"{local(doc['sealed_at'])} (version {doc['version']})"),
    ]
    out: list[Flowable] = [table(None, rows, [45 * mm, 135 * mm])]
    out.append(para("Heures en heure de Bruxelles.", SMALL))
    if doc["version"] > 1:
        out.append(para(f"Modifications depuis la version {doc['version'] - 1} :", H2))
        out += [para(f"• {change}") for change in doc["changes"]]
    for check in doc["departure_checks"]:
        out.append(
            para(
                f"Contrôle au départ, zone {check['zone']} : {celsius(check['temperature_c'])} "
                f"(limite {celsius(check['limit_c'])}), {local(check['checked_at'])}, "
                f"par {check['checked_by'] or '—'} ({check['source']})."
            )
        )
    return out


def limit_text(limit: dict[str, Any]) -> str:
    """The limit in force and its source, as the PDFs print it (shared with producer_pdf)."""
    parts = []
    if limit["max_c"] is not None:
        parts.append(f"max {celsius(limit['max_c'])}")
    if limit["min_c"] is not None:
        parts.append(f"min {celsius(limit['min_c'])}")
    if limit["tolerance_c"] is not None:
        parts.append(f"tolérance +{limit['tolerance_c']:g} °C / {limit['tolerance_min']:g} min")
    return (", ".join(parts) or "non contrôlée") + f" — {limit['source_fr']}"


def _loads(doc: dict[str, Any]) -> list[Flowable]:
    return [
        para("Chargements (traçabilité, Règl. (UE) 931/2011)", H2),
        loads_table(doc["loads"], consignor=True),
        para("Températures et verdict par lot", H2),
        *verdict_table(doc["loads"]),
    ]


def loads_table(loads: list[dict[str, Any]], consignor: bool) -> Flowable:
    """The lots with their traceability fields (931/2011); the producer's extract
    (producer_pdf.py) leaves out the consignor: the producer themselves."""
    rows = [
        (
            load["lot_reference"],
            load["description"],
            load["category_fr"],
            f"{load['quantity']} {load['unit']}",
            *([load["consignor"]] if consignor else []),
            load["consignee"],
            f"{load['zone']} (arrêts {load['pickup_stop']} → {load['drop_stop']})",
        )
        for load in loads
    ]
    header = ["Lot", "Description", "Catégorie", "Quantité", "Destinataire", "Zone"]
    widths = [25 * mm, 40 * mm, 32 * mm, 20 * mm, 35 * mm, 28 * mm]
    if consignor:  # one more column: the others narrower
        header.insert(4, "Expéditeur")
        widths = [22 * mm, 32 * mm, 30 * mm, 18 * mm, 27 * mm, 27 * mm, 24 * mm]
    return table(header, rows, widths)


def _zones(doc: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [para("Températures par zone", H2)]
    for zone in doc["zones"]:
        lines: dict[str, list[tuple[int, float]]] = {}
        for row in zone["readings"]:
            if row[4] is not None:
                lines.setdefault(row[2], []).append((row[0], row[4]))
        limits = [Limit(x["from_ms"], x["to_ms"], x["max_c"], x["min_c"]) for x in zone["limits"]]
        judged = "product" if "product" in lines else "air"
        spans = excursion_spans(lines.get(judged, []), limits, MAX_STEP_MS)
        drawing = chart(
            f"Zone {zone['name']} — {len(zone['readings'])} mesures étalonnées",
            lines,
            limits,
            spans,
        )
        calibrated = sum(1 for row in zone["readings"] if row[5] is not None)
        note = para(
            "Limite en vigueur (ligne rouge) : celle du lot le plus exigeant à bord. "
            f"Zones rouges : hors limite ({len(spans)} période(s)). {calibrated} mesure(s) "
            "corrigée(s) par un étalonnage ; valeurs brutes "
            "dans l'export CSV/JSON.",
            SMALL,
        )
        out.append(KeepTogether([drawing, note, Spacer(1, 3 * mm)]))
    return out


def _stops(doc: dict[str, Any]) -> list[Flowable]:
    return [para("Arrêts, remises et décisions des destinataires", H2), stops_table(doc["stops"])]


def stops_table(stops: list[dict[str, Any]]) -> Flowable:
    """The stops in their order, each with its handover (time, zone and core temperatures,
    each lot's decision, the receiver) or « pas de remise »: one table for the delivery
    record and the producer's extract (producer_pdf.py), from the sealed document's stops."""
    rows = []
    for stop in stops:
        handover = stop["handover"]
        head = (
            stop["sequence"],
            KINDS.get(stop["kind"], stop["kind"]),
            f"{stop['place_name']}, {stop['address']}",
        )
        if handover is None:
            rows.append((*head, local(stop["planned_at"]), "pas de remise", "—"))
            continue
        temps = ", ".join(
            f"{t['zone']} {celsius(t['temperature_c'])}" for t in handover["zone_temperatures"]
        )
        if handover["core_temperature_c"] is not None:
            temps += f" ; à cœur {celsius(handover['core_temperature_c'])}"
        decisions = "; ".join(
            f"{d['lot_reference']} : "
            + ("accepté" if d["accepted"] else f"REFUSÉ ({d['reason'] or 'sans motif'})")
            for d in handover["decisions"]
        )
        who = handover["receiver_name"] or "—"
        rows.append(
            (
                *head,
                local(handover["at"]),
                temps or "—",
                f"{decisions or '—'} (réceptionnaire : {who})",
            )
        )
    return table(
        ["N°", "Type", "Lieu", "Heure", "Températures", "Décisions"],
        rows,
        [8 * mm, 18 * mm, 45 * mm, 22 * mm, 35 * mm, 52 * mm],
    )


def _alerts(doc: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [para("Alertes et actions correctives", H2)]
    if not doc["alerts"]:
        return [*out, para("Aucune alerte pendant cette livraison.")]
    for alert in doc["alerts"]:
        text = (
            f"<b>{SEVERITIES.get(alert['severity'], alert['severity'])}</b> — "
            f"{local(alert['start_at'])} → {local(alert['end_at'])}, "
            f"pic {celsius(alert['peak'])}, lots {', '.join(alert['lots']) or '—'} : "
        )
        out.append(rich(text + _esc(alert["text_fr"])))
        out.append(corrective_action(alert, "Décisions"))
    return out


def corrective_action(alert: dict[str, Any], decisions_title: str) -> Flowable:
    """The alert's corrective action, or that there is none yet; who recorded it when the
    document names them (the producer's extract, producer_pdf.py, names no one)."""
    action = alert["corrective_action"]
    if action is None:
        return para(f"   Pas encore d'action corrective (état : {alert['state']}).", SMALL)
    decisions = "; ".join(
        f"{d['lot_reference']} : {d['decision']} ({d['justification']})"
        for d in action["lot_decisions"]
    )
    when = local(action["action_at"])
    if "recorded_by" in action:
        when = f"{action['recorded_by']}, {when}"
    return para(
        f"   Action corrective ({when}) : "
        f"{action['immediate_action']}. "
        f"Évaluation du produit : {action['product_assessment']}. "
        f"Cause : {action['root_cause']}. Prévention : {action['preventive_action']}. "
        f"{decisions_title} : {decisions or '—'}. "
        f"AFSCA notifiée : {'oui' if action['afsca_notified'] else 'non'} "
        f"({action['afsca_reason']}).",
        SMALL,
    )


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def _quality(doc: dict[str, Any]) -> list[Flowable]:
    out: list[Flowable] = [para("Qualité des données", H2)]
    for zone in doc["zones"]:
        q = zone["quality"]
        gaps = list(q["gaps"])
        text = (
            f"Zone {zone['name']} : {q['readings']} mesures ; {len(gaps)} interruption(s)"
            f" dont {sum(1 for g in gaps if g['offline'])} période(s) hors ligne (30 min ou +) ; "
            f"{q['unsynced_readings']} mesure(s) avec horloge non synchronisée ; "
            f"{q['faults']} défaut(s) de capteur."
        )
        out.append(para(text))
        for gap in gaps[:20]:
            out.append(
                para(
                    f"   {gap['channel']} : pas de mesure du {local(gap['from_ms'])} "
                    f"au {local(gap['to_ms'])} ({gap['minutes']:g} min).",
                    SMALL,
                )
            )
    if doc["version"] > 1:
        out.append(
            para(
                "Des données sont arrivées après le premier scellement (données tardives) : "
                "voir les modifications en tête.",
                SMALL,
            )
        )
    return out


def _seal(doc: dict[str, Any], record_hash: str, previous_hash: str) -> list[Flowable]:
    return seal_section(
        f"Enregistrement n° {doc['sequence']} de la chaîne de la coopérative, "
        f"version {doc['version']} de la livraison.",
        record_hash,
        previous_hash,
        "Vérifier : « coldchain records verify » recalcule toute la chaîne et nomme le premier "
        "enregistrement qui ne correspond pas. À la main : l'empreinte est le SHA-256 de "
        "(empreinte précédente + saut de ligne + document JSON canonique), document disponible "
        "dans l'export JSON (champ « document »).",
    )


def seal_section(
    which: str, record_hash: str, previous_hash: str, how_to_check: str
) -> list[Flowable]:
    """Which record in the chain, its hashes, how to check them (record and extract)."""
    mono = "<font name='Courier' size='7.5'>{}</font>"
    return [
        para("Scellement et vérification", H2),
        para(which),
        rich(f"Empreinte SHA-256 : {mono.format(record_hash)}", BODY),
        rich(f"Empreinte précédente : {mono.format(previous_hash)}", BODY),
        para(how_to_check, SMALL),
    ]


def verdict_table(loads: list[dict[str, Any]]) -> list[Flowable]:
    """Per lot: the limit in force, time on board, min/max/mean, minutes beyond, verdict and
    its rule; shared by the delivery record and the producer's extract (producer_pdf.py)."""
    rows, colours = [], []
    for load in loads:
        s = load["stats"]
        rows.append(
            (
                load["lot_reference"],
                limit_text(load["limit"]),
                f"{local(load['on_board_from'], '%H:%M')} – "
                f"{local(load['on_board_until'], '%H:%M')}",
                f"{celsius(s['min'])} / {celsius(s['max'])} / {celsius(s['mean'])}",
                f"{s['minutes_above']:g} / {s['minutes_below']:g}",
                f"{load['verdict']['label_fr'].upper()} : {load['verdict']['rule_fr']}",
            )
        )
        colours.append(VERDICT_COLOURS.get(load["verdict"]["code"]))
    header = [
        "Lot",
        "Limite en vigueur (source)",
        "À bord",
        "Min / max / moyenne",
        "Min. hors limite (haut / bas)",
        "Verdict (règle appliquée)",
    ]
    widths = [22 * mm, 42 * mm, 17 * mm, 27 * mm, 18 * mm, 54 * mm]
    return [
        table(header, rows, widths, colours),
        para(
            f"Mesures du canal « product » (simulant) si la zone en a un, sinon « air ». "
            f"Une mesure compte au plus {MAX_STEP_MS // 60000} minutes.",
            SMALL,
        ),
    ]
