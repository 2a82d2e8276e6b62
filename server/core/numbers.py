"""Numbers as people read them, in one place for the pages (server/pages/i18n.py) and the
documents (server/records/timefmt.py): French first, with Babel's rules for the language
(fr: decimal comma, a narrow no-break space between thousands, « 1 234,5 »; en: 1,234.5),
and the plural category a count takes.

A value is rounded as Python rounds it (`f"{value:.1f}"`: the verdicts and alert texts sealed
in the records are written that way), then written with the language's symbols: the same
reading never shows as 6,5 °C in one place and 6,4 °C in another.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import format_decimal

# The Babel locale of each language: Belgian French, Belgian Dutch; English without a region.
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en"}
MAX_DIGITS = 3  # a quantity shows at most this many decimals when none is asked for
NONE = "—"  # no value


def locale(lang: str) -> str:
    return LOCALES.get(lang, LOCALES["fr"])


def decimal(
    value: float | int | str | Decimal | None, lang: str = "fr", digits: int | None = None
) -> str:
    """`value` in `lang`: with exactly `digits` decimals, or (None) as many as it has, at most
    three, trailing zeros dropped (« 8.000 » -> « 8 », « 12.500 » -> « 12,5 »). Thousands
    grouped. '—' when there is no value (None, or text that is not a number)."""
    if value is None:
        return NONE
    try:
        if digits is not None:
            exact = Decimal(f"{float(value):.{digits}f}")  # Python's rounding, as elsewhere
        elif isinstance(value, float):
            exact = Decimal(f"{value:.{MAX_DIGITS}f}")
        else:
            exact = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return NONE
    if not exact.is_finite():
        return NONE
    if exact == 0:
        exact = abs(exact)  # never « -0,0 »
    if digits is None:
        exact = exact.quantize(Decimal(1).scaleb(-MAX_DIGITS)).normalize()
        exponent = exact.as_tuple().exponent
        digits = max(-exponent, 0) if isinstance(exponent, int) else 0
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(exact, format=pattern, locale=locale(lang))


def celsius(value: float | None, lang: str = "fr", digits: int = 1) -> str:
    """A temperature with its unit: « 2,5 °C », "-18.0 °C"; '—' when absent."""
    return NONE if value is None else f"{decimal(value, lang, digits)} °C"


def plural_form(count: float | int | Decimal, lang: str = "fr") -> str:
    """'one' or 'other': the form a noun takes after `count` in `lang` (French: « 0 pièce »,
    « 1 pièce », « 1,5 pièce », « 2 pièces »; English: "1 piece", "0 pieces")."""
    form = Locale.parse(locale(lang)).plural_form(count)
    return "one" if form == "one" else "other"
