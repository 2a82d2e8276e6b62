"""Validation problems in the reader's language: pydantic writes English, our users read
French first (or Dutch).

Each pydantic error type the API can produce (`TYPES`) has a sentence in the `api`
catalogue, context `validation` (server/locale/<lang>/LC_MESSAGES/api.po; with the numbers
from the error's context); our own ValueError texts (server/schemas/) have theirs in context
`value_error`, by their English text. English keeps pydantic's own message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.core import catalogue

TYPES = (
    "missing",
    "extra_forbidden",
    "string_type",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "finite_number",
    "decimal_type",
    "decimal_parsing",
    "decimal_max_digits",
    "decimal_max_places",
    "decimal_whole_digits",
    "bool_type",
    "bool_parsing",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "enum",
    "literal_error",
    "list_type",
    "too_short",
    "too_long",
    "dict_type",
    "model_attributes_type",
    "model_type",
    "datetime_type",
    "datetime_parsing",
    "datetime_from_date_parsing",
    "timezone_aware",
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "json_invalid",
    "json_type",
)


def problem(error: Mapping[str, Any], lang: str) -> str:
    english = str(error.get("msg", ""))
    if lang == "en":
        return english
    kind = str(error.get("type", ""))
    if kind == "value_error":
        text = english.removeprefix("Value error, ")
        return catalogue.words("api", lang, "value_error").get(text, text)
    template = catalogue.words("api", lang, "validation").get(kind) if kind in TYPES else None
    if template is None:
        return english
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return template.split(" (")[0].split(";")[0].rstrip()
