"""The words people read, from gettext catalogues: `server/locale/<language>/LC_MESSAGES/
<domain>.po`, one per language and domain (`pages`: the pages' words, with the context
`value` for stored values shown by name — states, roles, decisions, alert kinds, channels,
probe fault codes: pages and documents share them; `api`: the API's error messages by code;
`records`: the words of the documents, server/records/; `alerts`: the alert texts, the
probe's display and the e-mails — read by the engine too, alerts/wording.py).

The catalogues are monolingual: a message's id is a key the code and the templates use
(`t.limit`, `message("conflict", ...)`), its text the words in that language. French is
the source and the default; a text missing in another language falls back to French,
and tests/server/test_catalogues.py fails the suite before that can happen. Translators
edit the `.po` files with Poedit or Weblate ("monolingual gettext", French as the base).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "locale"
# French first: the default, and the text a missing one falls back to; Dutch (nl-BE).
LANGUAGES = ("fr", "nl", "en")
DOMAINS = ("pages", "api", "records", "alerts")


def path(domain: str, lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"


@cache
def _read(domain: str, lang: str) -> Mapping[tuple[str | None, str], str]:
    with path(domain, lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=domain)
    return MappingProxyType(
        {(m.context, str(m.id)): str(m.string) for m in catalog if m.id and m.string}
    )


@cache
def words(domain: str, lang: str, context: str | None = None) -> Mapping[str, str]:
    """Key -> text in `lang` (French where `lang` has none) for the messages of `domain`
    with `context` (None: those without one)."""
    merged: dict[str, str] = {}
    for each in dict.fromkeys((LANGUAGES[0], lang if lang in LANGUAGES else LANGUAGES[0])):
        merged.update(
            (key, text) for (ctx, key), text in _read(domain, each).items() if ctx == context
        )
    return MappingProxyType(merged)
