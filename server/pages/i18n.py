"""The pages' language (French first, English available) and how values are shown:
times in the site's zone, temperatures with their unit, French decimal commas."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from coldchain import clock
from server.core.errors import language

LANG_COOKIE = "coldchain_lang"
LANGUAGES = ("fr", "en")


def page_language(request: Request) -> str:
    """The language chosen with the switch (cookie), else Accept-Language, else French."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    default: str = request.app.state.default_language
    return language(request, default if default in LANGUAGES else "fr")


def celsius(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    text = f"{value:.1f}"
    return (text.replace(".", ",") if lang == "fr" else text) + " °C"


def number(value: str | float, lang: str) -> str:
    """A quantity as people write it: 12.500 -> « 12,5 » in French, "12.5" in English."""
    text = str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "fr" else text


def local_time(value: datetime | None, lang: str, with_date: bool = True) -> str:
    """The site's wall-clock time (stored times are UTC)."""
    if value is None:
        return "—"
    local = value.astimezone(clock.zone())
    if not with_date:
        return local.strftime("%H:%M")
    return local.strftime("%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M")


def duration(minutes: int, lang: str) -> str:
    """A span as people say it: « 12 min », « 1 h 05 », « 2 j 3 h » (English: 2 d 3 h)."""
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d}" + ("" if lang == "fr" else " min")
    days, hours = divmod(hours, 24)
    return f"{days} {'j' if lang == 'fr' else 'd'} {hours} h"


Words = dict[str, tuple[str, str]]  # key -> (French, English)

# Words of the pages. Keys are English-ish identifiers; each maps to (French, English).
# These are shared by every page (the header, the alerts, the refusals); each page module
# brings its own in `WORDS`, added by `add_words` when server/pages/app.py mounts it.
_PAGE_WORDS: Words = {
    "app": ("Chaîne du froid", "Cold chain"),
    "login": ("Connexion", "Log in"),
    "logout": ("Déconnexion", "Log out"),
    "email": ("Adresse e-mail", "Email address"),
    "password": ("Mot de passe", "Password"),
    "invalid_credentials": (
        "Adresse e-mail ou mot de passe incorrect.",
        "Wrong email address or password.",
    ),
    "too_many_attempts": (
        "Trop de tentatives de connexion. Réessayez dans quelques minutes.",
        "Too many login attempts. Try again in a few minutes.",
    ),
    "my_truck": ("Mon camion maintenant", "My truck now"),
    "my_rooms": ("Mes chambres froides", "My cold rooms"),
    "my_alerts": ("Mes alertes", "My alerts"),
    "review": ("Alertes à revoir", "Alerts awaiting review"),
    "deliveries": ("Livraisons", "Deliveries"),
    "admin": ("Administration", "Administration"),
    "no_delivery": (
        "Aucune livraison à conduire aujourd'hui.",
        "No delivery to drive today.",
    ),
    "limit": ("Limite", "Limit"),
    "measured_at": ("mesuré à", "measured at"),
    "status_ok": ("Conforme", "Within limit"),
    "status_warning": ("Proche de la limite", "Close to the limit"),
    "status_tolerated": (
        "Au-dessus, dans la tolérance de transport",
        "Above, within the transport tolerance",
    ),
    "status_over": ("Au-dessus de la limite", "Above the limit"),
    "status_under": ("En dessous du minimum", "Below the minimum"),
    "status_none": ("Pas de mesure récente", "No recent reading"),
    "no_limit": ("Pas de limite (rien à bord)", "No limit (nothing on board)"),
    "alerts_open": ("Alertes en cours", "Alerts in progress"),
    "no_alert": ("Aucune alerte.", "No alert."),
    "see_alert": ("Voir et agir", "See and act"),
    "alert": ("Alerte", "Alert"),
    "state": ("État", "State"),
    "severity": ("Gravité", "Severity"),
    "start": ("Début", "Start"),
    "end": ("Fin", "End"),
    "peak": ("Pic", "Peak"),
    "ongoing": ("en cours", "ongoing"),
    "acknowledge": ("J'ai vu, je m'en occupe", "Seen, I am on it"),
    "note": ("Note", "Note"),
    "acknowledged_by": ("Prise en charge le", "Acknowledged at"),
    "corrective_action": ("Action corrective", "Corrective action"),
    "immediate_action": ("Action immédiate", "Immediate action"),
    "action_at": ("Heure de l'action", "Time of the action"),
    "product_assessment": ("Évaluation du produit", "Product assessment"),
    "core_temperature": ("Température à cœur (°C)", "Core temperature (°C)"),
    "thermometer": ("Thermomètre (EN 13485)", "Thermometer (EN 13485)"),
    "lot_decision": ("Décision pour le lot", "Decision for the lot"),
    "justification": ("Justification", "Justification"),
    "root_cause": ("Cause", "Root cause"),
    "preventive_action": ("Action préventive", "Preventive action"),
    "afsca_notified": ("AFSCA notifiée", "AFSCA notified"),
    "afsca_reason": ("Pourquoi (notifiée ou non)", "Why (notified or not)"),
    "record": ("Enregistrer", "Record"),
    "recorded": ("Enregistrée le", "Recorded at"),
    "close": ("Clôturer après revue", "Close after review"),
    "review_note": ("Note de revue", "Review note"),
    "closed": ("Clôturée le", "Closed at"),
    "form_errors": ("Le formulaire contient des erreurs :", "The form has errors:"),
    "saved": ("Enregistré.", "Saved."),
    "current": ("Valeur actuelle", "Current value"),
    "chart_24h": ("24 heures", "24 hours"),
    "chart_7d": ("7 jours", "7 days"),
    "records": ("Registre scellé", "Sealed record"),
    "pdf": ("PDF", "PDF"),
    "not_sealed": ("pas encore scellée", "not sealed yet"),
    "day": ("Jour", "Day"),
    "van": ("Camionnette", "Van"),
    "vans": ("Camionnettes et zones", "Vans and zones"),
    "zones": ("Zones", "Zones"),
    "cold_rooms": ("Chambres froides", "Cold rooms"),
    "probes": ("Sondes et installations", "Probes and installations"),
    "users": ("Utilisateurs", "Users"),
    "name": ("Nom", "Name"),
    "plate": ("Plaque", "Plate"),
    "category": ("Catégorie", "Category"),
    "probe": ("Sonde", "Probe"),
    "installed_in": ("Installée dans", "Installed in"),
    "since": ("depuis", "since"),
    "roles": ("Rôles", "Roles"),
    "status": ("Statut", "Status"),
    "lots": ("Lots concernés", "Lots affected"),
    "yes": ("oui", "yes"),
    "no": ("non", "no"),
    "page_not_found": ("Page introuvable.", "Page not found."),
    # The refusal of a page form without its anti-CSRF token (server/pages/web.py).
    "csrf_refused": (
        "Formulaire expiré ou invalide, rechargez la page.",
        "Expired or invalid form, reload the page.",
    ),
    "forbidden": ("Cette page n'est pas pour votre rôle.", "This page is not for your role."),
    "language": ("Langue", "Language"),
    "detected_late": ("détectée en retard", "detected late"),
    "detected_late_why": (
        "les relevés sont arrivés après coup (sonde hors réseau) ; vus le",
        "the readings arrived afterwards (probe out of coverage); seen on",
    ),
}

VALUES: dict[str, tuple[str, str]] = {  # states, severities, roles, decisions
    "open": ("ouverte", "open"),
    "acknowledged": ("prise en charge", "acknowledged"),
    "action_recorded": ("action enregistrée", "action recorded"),
    "closed": ("clôturée", "closed"),
    "info": ("information", "information"),
    "critical": ("critique", "critical"),
    "warning": ("avertissement", "warning"),
    "tolerated": ("tolérée", "tolerated"),
    "admin": ("administrateur", "administrator"),
    "hygiene_officer": ("responsable hygiène", "hygiene officer"),
    "driver": ("chauffeur", "driver"),
    "producer": ("producteur", "producer"),
    "release": ("libérer", "release"),
    "shorten_shelf_life": ("raccourcir la DLC", "shorten shelf life"),
    "redirect": ("réorienter", "redirect"),
    "reject": ("refuser", "reject"),
    "destroy": ("détruire", "destroy"),
    "planned": ("planifiée", "planned"),
    "departed": ("en route", "on the road"),
}

WORDS: Words = dict(_PAGE_WORDS)


def add_words(words: Words) -> None:
    """A page module's words (server/pages/app.py, once per mount: adding them again is
    harmless). A key already used by another page with other words is a mistake: refused."""
    for key, pair in words.items():
        if WORDS.setdefault(key, pair) != pair:
            raise ValueError(f"page word {key!r} is defined twice: {WORDS[key]} and {pair}")


def translator(lang: str) -> dict[str, str]:
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in WORDS.items()}


def value_name(value: str | None, lang: str) -> str:
    if value is None:
        return "—"
    pair = VALUES.get(value)
    return pair[1 if lang == "en" else 0] if pair else value
