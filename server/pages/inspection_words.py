"""Words of the inspection export page: key -> (French, English), the page module's WORDS
(server/pages/inspection_pages.py)."""

from __future__ import annotations

INSPECTION_WORDS: dict[str, tuple[str, str]] = {
    "inspection": ("Export pour inspection (AFSCA)", "Inspection export (AFSCA)"),
    "inspection_intro": (
        "Un fichier ZIP pour la période et les emplacements choisis : relevés de "
        "températures (CSV) et résumé (PDF) par emplacement, alertes et actions correctives, "
        "enregistrements scellés des livraisons, registre des étalonnages, plan HACCP, "
        "empreintes SHA-256.",
        "One ZIP file for the chosen period and locations: temperature readings (CSV) and "
        "summary (PDF) per location, alerts and corrective actions, sealed delivery records, "
        "calibration register, HACCP plan, SHA-256 fingerprints.",
    ),
    "period": ("Période", "Period"),
    "first_day": ("Premier jour", "First day"),
    "last_day": ("Dernier jour (inclus)", "Last day (included)"),
    "period_note": (
        "Jours de l'heure de Bruxelles, de 0 h le premier jour à minuit le dernier jour. "
        "{days} jours au plus.",
        "Days in Brussels time, from midnight starting the first day to midnight ending the "
        "last day. At most {days} days.",
    ),
    "locations": ("Emplacements", "Locations"),
    "no_location_visible": (
        "Aucune camionnette ni chambre froide visible pour votre coopérative.",
        "No van or cold room visible to your cooperative.",
    ),
    "van_all_zones": ("toutes les zones", "every zone"),
    "prepare_export": ("Préparer l'export", "Prepare the export"),
    "date_invalid": (
        "Date invalide : choisissez un jour (jj/mm/aaaa).",
        "Invalid date: choose a day (dd/mm/yyyy).",
    ),
    "end_before_start": (
        "Le dernier jour doit être le premier jour ou après.",
        "The last day must be the first day or later.",
    ),
    "period_too_long": (
        "Période trop longue : {days} jours au plus (ici {asked} jours).",
        "Period too long: at most {days} days (here {asked} days).",
    ),
    "choose_location": (
        "Cochez au moins une camionnette ou une chambre froide.",
        "Tick at least one van or cold room.",
    ),
    "location_unknown": (
        "Un des emplacements cochés n'existe pas ou ne vous est pas visible.",
        "One of the ticked locations does not exist or is not visible to you.",
    ),
    "too_many_exports": (
        "Vous avez déjà {limit} exports en préparation. Attendez qu'un d'eux soit terminé, "
        "puis recommencez.",
        "You already have {limit} exports being prepared. Wait until one has finished, "
        "then start again.",
    ),
    "export_running": ("Préparation de l'export en cours…", "Preparing the export…"),
    "export_done": ("L'export est prêt.", "The export is ready."),
    "export_failed": ("L'export a échoué.", "The export failed."),
    "export_not_ready": (
        "L'export n'est pas encore prêt : attendez la fin de la préparation.",
        "The export is not ready yet: wait until it has been prepared.",
    ),
    "done_share": ("fait", "done"),
    "download_zip": ("Télécharger le fichier ZIP", "Download the ZIP file"),
    "download_once": (
        "Le fichier est supprimé du serveur une fois téléchargé, ou une heure après sa "
        "préparation.",
        "The file is deleted from the server once downloaded, or an hour after it was ready.",
    ),
    "refresh": ("Actualiser", "Refresh"),
    "new_export": ("Nouvel export", "New export"),
}
