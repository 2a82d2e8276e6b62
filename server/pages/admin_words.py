"""Words of the admin forms: key -> (French, English), merged into i18n.WORDS."""

from __future__ import annotations

ADMIN_WORDS: dict[str, tuple[str, str]] = {
    # The refusal of a page form without its anti-CSRF token (server/pages/web.py).
    "csrf_refused": (
        "Formulaire expiré ou invalide, rechargez la page.",
        "Expired or invalid form, reload the page.",
    ),
    # Titles and buttons
    "new_van": ("Nouvelle camionnette", "New van"),
    "new_zone": ("Ajouter une zone", "Add a zone"),
    "add_zone": ("Ajouter la zone", "Add the zone"),
    "new_room": ("Nouvelle chambre froide", "New cold room"),
    "new_probe": ("Nouvelle sonde", "New probe"),
    "new_user": ("Nouvel utilisateur", "New user"),
    "new_calibration": ("Enregistrer un étalonnage", "Record a calibration"),
    "install": ("Installer la sonde", "Install the probe"),
    "install_probe": ("Installer", "Install"),
    "end_installation": ("Fin de l'installation en cours", "End the current installation"),
    "create": ("Créer", "Create"),
    "back": ("Retour à l'administration", "Back to administration"),
    "optional": ("facultatif", "optional"),
    # Fields
    "owner": ("Propriétaire", "Owner"),
    "address": ("Adresse", "Address"),
    "zone_name": ("Nom de la zone", "Zone name"),
    "zone_kind": ("Type de zone", "Zone type"),
    "zone_compartment": ("compartiment", "compartment"),
    "zone_thermo_box": ("caisse isotherme", "thermo-box"),
    "no_zone": ("Aucune zone pour l'instant.", "No zone yet."),
    "full_name": ("Nom complet", "Full name"),
    "new_password": (
        "Mot de passe (au moins 10 caractères)",
        "Password (at least 10 characters)",
    ),
    "organisation": ("Organisation", "Organisation"),
    "role": ("Rôle", "Role"),
    "probe_id": (
        "Identifiant de la sonde (minuscules, chiffres, tirets ; celui de cc/v1/dev/…)",
        "Probe id (lower case, digits, dashes; the one in cc/v1/dev/…)",
    ),
    "label": ("Libellé", "Label"),
    "place": ("Emplacement", "Place"),
    "removed_at": ("Retirée le (heure de Bruxelles)", "Removed at (Brussels time)"),
    "installations": ("Installations", "Installations"),
    "no_installation": ("Jamais installée.", "Never installed."),
    "calibrations": ("Étalonnages", "Calibrations"),
    "no_calibration": ("Aucun étalonnage enregistré.", "No calibration recorded."),
    "channel": ("Canal", "Channel"),
    "offset": ("Correction (°C)", "Offset (°C)"),
    "calibrated_at": ("Étalonnée le (heure de Bruxelles)", "Calibrated at (Brussels time)"),
    "reference_instrument": ("Instrument de référence", "Reference instrument"),
    "performed_by": ("Réalisé par", "Performed by"),
    "next_due": ("Prochain étalonnage avant le", "Next calibration due"),
    "reference_reading_c": ("Relevé de la référence (°C)", "Reference reading (°C)"),
    "probe_reading_c": ("Relevé de la sonde (°C)", "Probe reading (°C)"),
    "reference_certificate": ("Certificat de la référence", "Reference certificate"),
    "result": ("Résultat (déduit des relevés si vide)", "Result (from the readings if empty)"),
    "result_pass": ("conforme", "pass"),
    "result_fail": ("non conforme (écart > ±1 °C)", "fail (error > ±1 °C)"),
}
