"""Validation problems in French: pydantic writes English, our users read French first.

Each pydantic error type the API can produce has a French sentence here (with the numbers
from the error's context); English keeps pydantic's own message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FRENCH: dict[str, str] = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "string_type": "doit être un texte",
    "string_too_short": "trop court (au moins {min_length} caractère(s))",
    "string_too_long": "trop long (au plus {max_length} caractères)",
    "string_pattern_mismatch": "format invalide",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "float_type": "doit être un nombre",
    "float_parsing": "doit être un nombre",
    "finite_number": "doit être un nombre fini",
    "decimal_type": "doit être un nombre décimal",
    "decimal_parsing": "doit être un nombre décimal",
    "decimal_max_digits": "au plus {max_digits} chiffres",
    "decimal_max_places": "au plus {decimal_places} décimales",
    "decimal_whole_digits": "trop de chiffres avant la virgule",
    "bool_type": "doit être vrai ou faux",
    "bool_parsing": "doit être vrai ou faux",
    "greater_than": "doit être supérieur à {gt}",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than": "doit être inférieur à {lt}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "enum": "valeur inconnue ; valeurs possibles : {expected}",
    "literal_error": "valeur inconnue ; valeurs possibles : {expected}",
    "list_type": "doit être une liste",
    "too_short": "trop peu d'éléments (au moins {min_length})",
    "too_long": "trop d'éléments (au plus {max_length})",
    "dict_type": "doit être un objet JSON",
    "model_attributes_type": "doit être un objet JSON",
    "model_type": "doit être un objet JSON",
    "datetime_type": "doit être une date et heure ISO 8601",
    "datetime_parsing": "date et heure invalide (ISO 8601 attendu, avec fuseau)",
    "datetime_from_date_parsing": "date et heure invalide (ISO 8601 attendu, avec fuseau)",
    "timezone_aware": "l'heure doit indiquer son fuseau (par ex. +01:00 ou Z)",
    "date_type": "doit être une date (AAAA-MM-JJ)",
    "date_parsing": "date invalide (AAAA-MM-JJ attendu)",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ attendu)",
    "date_from_datetime_inexact": "une date sans heure est attendue",
    "json_invalid": "JSON invalide",
    "json_type": "JSON invalide",
}

# Our own ValueError texts (schemas/), translated the same way.
FRENCH_VALUE_ERRORS: dict[str, str] = {
    "time must be between 2000-01-01 and 2100-01-01": "l'heure doit être entre 2000 et 2100",
    "date must be between 2000-01-01 and 2100-01-01": "la date doit être entre 2000 et 2100",
    "must not contain NUL characters": "ne doit pas contenir de caractère NUL",
    "must be valid Unicode text": "doit être du texte Unicode valide",
    "a pickup is at a cold room: give place_kind=cold_room and cold_room_id": (
        "un enlèvement se fait dans une chambre froide : "
        "indiquez place_kind=cold_room et cold_room_id"
    ),
    "a drop is at a shop, a restaurant or a canteen": (
        "un dépôt se fait dans un magasin, un restaurant ou une cantine"
    ),
}


def problem(error: Mapping[str, Any], lang: str) -> str:
    english = str(error.get("msg", ""))
    if lang == "en":
        return english
    kind = str(error.get("type", ""))
    if kind == "value_error":
        text = english.removeprefix("Value error, ")
        return FRENCH_VALUE_ERRORS.get(text, text)
    template = FRENCH.get(kind)
    if template is None:
        return english
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return template.split(" (")[0].split(" ;")[0]
