"""Words of the driver's delivery page (stops, departure check, handovers): key -> (French,
English), the WORDS of server/pages/delivery_pages.py. Keys start with ``dlv_`` so they
never collide with another page's words in the merged table."""

from __future__ import annotations

DELIVERY_WORDS: dict[str, tuple[str, str]] = {
    "dlv_title": ("Livraison", "Delivery"),
    "dlv_today": ("Mes livraisons du jour", "My deliveries today"),
    "dlv_open": (
        "Ouvrir la livraison (arrêts, contrôle au départ, remises)",
        "Open the delivery (stops, departure check, handovers)",
    ),
    "dlv_none_today": ("Aucune livraison aujourd'hui.", "No delivery today."),
    "dlv_driver": ("Chauffeur", "Driver"),
    "dlv_status_planned": (
        "◷ Planifiée : contrôle au départ à faire",
        "◷ Planned: departure check to do",
    ),
    "dlv_status_departed": ("➜ En route", "➜ On the road"),
    "dlv_status_closed": ("✔ Clôturée", "✔ Closed"),
    "dlv_departed_at": ("Parti à", "Departed at"),
    "dlv_closed_at": ("Clôturée à", "Closed at"),
    "dlv_stops": ("Arrêts", "Stops"),
    "dlv_stop": ("Arrêt", "Stop"),
    "dlv_pickup": ("Enlèvement", "Pickup"),
    "dlv_drop": ("Dépôt", "Drop"),
    "dlv_place_cold_room": ("chambre froide", "cold room"),
    "dlv_place_shop": ("magasin", "shop"),
    "dlv_place_restaurant": ("restaurant", "restaurant"),
    "dlv_place_canteen": ("cantine", "canteen"),
    "dlv_planned_at": ("Prévu à", "Planned at"),
    "dlv_handed_over": ("✔ Remis à", "✔ Handed over at"),
    "dlv_not_handed_over": ("○ Pas encore remis", "○ Not handed over yet"),
    "dlv_next_stop": ("➜ Prochain arrêt", "➜ Next stop"),
    "dlv_receiver": ("Réceptionnaire", "Receiver"),
    "dlv_zone_temperatures": ("Températures des zones (sondes)", "Zone temperatures (probes)"),
    "dlv_loads": ("Chargements", "Loads"),
    "dlv_lot": ("Lot", "Lot"),
    "dlv_description": ("Description", "Description"),
    "dlv_quantity": ("Quantité", "Quantity"),
    "dlv_zone": ("Zone", "Zone"),
    "dlv_consignor": ("Expéditeur (producteur)", "Consignor (producer)"),
    "dlv_consignee": ("Destinataire", "Consignee"),
    "dlv_route": ("Enlèvement → dépôt", "Pickup → drop"),
    "dlv_decision": ("Décision", "Decision"),
    "dlv_no_decision": ("pas encore", "not yet"),
    "dlv_accepted": ("✔ accepté", "✔ accepted"),
    "dlv_refused": ("✖ refusé", "✖ refused"),
    "dlv_label_max": ("étiquette ≤", "label ≤"),
    # Departure check
    "dlv_departure": ("Contrôle au départ", "Departure check"),
    "dlv_departure_help": (
        "Chaque zone chargée doit être pré-refroidie sous sa limite. Par défaut, la "
        "température est celle des sondes ; si vous l'avez mesurée, tapez-la.",
        "Each loaded zone must be pre-cooled below its limit. By default the temperature "
        "is the probes' reading; if you measured it, type it in.",
    ),
    "dlv_from_readings": ("Relevé des sondes", "Probe reading"),
    "dlv_no_reading": (
        "Pas de mesure récente des sondes : tapez la température mesurée.",
        "No recent probe reading: type the measured temperature.",
    ),
    "dlv_typed_temperature": (
        "Température mesurée (°C), vide = relevé des sondes",
        "Measured temperature (°C), empty = probe reading",
    ),
    "dlv_depart": ("Contrôle fait, je pars", "Check done, leaving"),
    "dlv_zone_refused": (
        "✖ Départ refusé : {temperature} pour une limite de {limit}. Pré-refroidissez la zone.",
        "✖ Departure refused: {temperature} against a limit of {limit}. Pre-cool the zone.",
    ),
    "dlv_check_result": ("Résultat du contrôle au départ", "Departure check result"),
    "dlv_check_ok": ("✔ sous la limite", "✔ below the limit"),
    "dlv_source_readings": ("relevé des sondes", "probe reading"),
    "dlv_source_manual": ("mesurée par le chauffeur", "measured by the driver"),
    "dlv_checked_at": ("contrôlé à", "checked at"),
    "dlv_no_chilled": (
        "Aucune zone à contrôler (rien de réfrigéré à bord).",
        "No zone to check (nothing chilled on board).",
    ),
    # Handover
    "dlv_handover": ("Remise à l'arrêt", "Handover at the stop"),
    "dlv_handover_help": (
        "Les températures des zones sont prises des sondes par le serveur.",
        "The zones' temperatures are taken from the probes by the server.",
    ),
    "dlv_receiver_name": ("Nom du réceptionnaire", "Receiver's name"),
    "dlv_core": (
        "Température à cœur (°C, thermomètre à main), facultatif",
        "Core temperature (°C, hand thermometer), optional",
    ),
    "dlv_core_short": ("Température à cœur", "Core temperature"),
    "dlv_accept": ("Accepter", "Accept"),
    "dlv_refuse": ("Refuser", "Refuse"),
    "dlv_reason": (
        "Motif du refus (obligatoire si refusé)",
        "Reason for refusal (required if refused)",
    ),
    "dlv_choose": ("Choisissez : accepter ou refuser.", "Choose: accept or refuse."),
    "dlv_not_on_board": ("refusé à l'enlèvement : pas à bord", "refused at pickup: not on board"),
    "dlv_hand_over": ("Enregistrer la remise", "Record the handover"),
    "dlv_close": ("Clôturer la livraison", "Close the delivery"),
    "dlv_close_help": (
        "Tous les arrêts sont remis : clôturez pour sceller le registre HACCP.",
        "Every stop is handed over: close to seal the HACCP record.",
    ),
    "dlv_back": ("Retour à mon camion", "Back to my truck"),
    "dlv_temperature": ("Température", "Temperature"),
}
