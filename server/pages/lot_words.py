"""Words of the producer's lots page: key -> (French, English), the page module's WORDS
(server/pages/lot_pages.py)."""

from __future__ import annotations

LOT_WORDS: dict[str, tuple[str, str]] = {
    "my_lots": ("Mes lots", "My lots"),
    "lots_intro": (
        "Les livraisons qui ont transporté vos lots, les plus récentes d'abord, et comment "
        "chaque lot a été conservé pendant qu'il était à bord.",
        "The deliveries that carried your lots, newest first, and how each lot was kept "
        "while it was on board.",
    ),
    "lots_none": (
        "Aucune livraison n'a encore transporté vos lots.",
        "No delivery has carried your lots yet.",
    ),
    "lots_lot": ("Lot", "Lot"),
    "lots_product": ("Produit", "Product"),
    "lots_quantity": ("Quantité", "Quantity"),
    "lots_consignee": ("Destinataire", "Consignee"),
    "lots_limit": ("Limite", "Limit"),
    "lots_on_board": ("À bord", "On board"),
    "lots_min_max": ("Min / max / moyenne", "Min / max / mean"),
    "lots_above": ("Temps au-dessus de la limite", "Time above the limit"),
    "lots_verdict": ("Verdict", "Verdict"),
    "lots_minutes": ("min", "min"),
    "lots_sealed": ("Registre scellé, version", "Sealed record, version"),
    "lots_in_progress": (
        "En cours : livraison pas encore clôturée et scellée ; valeurs provisoires.",
        "In progress: delivery not closed and sealed yet; provisional values.",
    ),
    "lots_extract_pdf": ("Extrait PDF de mes lots", "PDF extract of my lots"),
    "lots_verdict_conforme": ("Conforme", "Compliant"),
    "lots_verdict_ecart_tolere": ("Écart toléré", "Tolerated deviation"),
    "lots_verdict_non_conforme": ("Non conforme", "Non-compliant"),
    "lots_verdict_en_cours": ("En cours", "In progress"),
    "lots_rule": ("Règle appliquée", "Rule applied"),
    "lots_waiting": ("pas encore chargé", "not loaded yet"),
    "lots_refused_pickup": ("refusé à l'enlèvement", "refused at pickup"),
    "lots_on_board_since": ("à bord depuis", "on board since"),
    "lots_delivered_at": ("livré à", "delivered at"),
    "lots_refused_drop": ("refusé à la livraison, resté à bord", "refused at drop, kept on board"),
    "lots_back_at_close": ("resté à bord jusqu'à la clôture", "on board until closing"),
    "lots_latest": ("dernière mesure", "latest reading"),
    "lots_no_reading": ("pas encore de mesure à bord", "no reading on board yet"),
    "lots_older": ("Livraisons plus anciennes", "Older deliveries"),
    "lots_newer": ("Livraisons plus récentes", "Newer deliveries"),
    "lots_page": ("Page", "Page"),
}
