"""The words of the documents an inspector reads, from the translation catalogue
(server/core/catalogue.py): the documents' own words (`records` domain) and the names of
stored values — states, severities, alert kinds, lot decisions, channels, probe fault codes —
which the pages show too (`pages` domain, context `value`: one list for both).

The exports are French (`LANG`); English is there for whoever asks for it."""

from __future__ import annotations

from collections.abc import Mapping

from server.core import catalogue

LANG = "fr"
ALL_CHANNELS = "*"  # a maintenance alert about a whole probe (server/alerting/maintenance.py)


def words(lang: str = LANG) -> Mapping[str, str]:
    """Key -> text of the documents' words in `lang`."""
    return catalogue.words("records", lang)


def value(code: str | None, lang: str = LANG) -> str:
    """A stored value by its name in `lang`; "" for none. A code without a name is shown as
    it is (tests/records/test_inspection.py fails when a code the system stores has none)."""
    if not code:
        return ""
    if code == ALL_CHANNELS:
        return words(lang)["all_channels"]
    return catalogue.words("pages", lang, "value").get(code, code)


def yes_no(flag: bool | None, lang: str = LANG) -> str:
    return "" if flag is None else words(lang)["yes" if flag else "no"]
