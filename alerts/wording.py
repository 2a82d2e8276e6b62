"""The alerts' words: the gettext catalogue `alerts` (server/locale/<lang>/LC_MESSAGES/
alerts.po, one file per language, French the source), read here with the standard library.

The engine is pure (pyproject.toml, import-linter): it imports neither the server nor
Babel, so it reads the one catalogue it needs with this small reader of the `.po` format
(msgctxt, msgid, msgstr on one or more quoted lines). The server reads the same files with
Babel (server/core/catalogue.py); tests/server/test_catalogues.py checks that both readers
agree and that every language has every message.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

LOCALE = Path(__file__).resolve().parent.parent / "server" / "locale"
DOMAIN = "alerts"
SOURCE = "fr"  # a message missing in another language is shown in French


def _unquote(line: str) -> str:
    # A .po string is a C string literal; Python's literal syntax reads the same escapes.
    text = ast.literal_eval(line.strip())
    if not isinstance(text, str):
        raise ValueError(f"not a string: {line!r}")
    return text


def parse(text: str) -> dict[tuple[str | None, str], str]:
    """(context, id) -> text of the messages of a `.po` file (the header and the entries
    with an empty text left out)."""
    found: dict[tuple[str | None, str], str] = {}
    entry: dict[str, str] = {}
    field = ""

    def close() -> None:
        if entry.get("msgid") and entry.get("msgstr"):
            found[(entry.get("msgctxt"), entry["msgid"])] = entry["msgstr"]
        entry.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if not line and entry:
                close()
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid", "msgstr"):
            if keyword != "msgstr" and "msgstr" in entry:
                close()
            field = keyword
            entry[field] = _unquote(rest)
        elif line.startswith('"') and field:
            entry[field] += _unquote(line)
    close()
    return found


@cache
def _read(lang: str) -> Mapping[tuple[str | None, str], str]:
    path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return MappingProxyType({})
    return MappingProxyType(parse(path.read_text(encoding="utf-8")))


@cache
def words(lang: str, context: str | None = None) -> Mapping[str, str]:
    """Key -> text in `lang` (French where `lang` has none) of the messages with `context`."""
    merged: dict[str, str] = {}
    for each in dict.fromkeys((SOURCE, lang)):
        merged.update((key, text) for (ctx, key), text in _read(each).items() if ctx == context)
    return MappingProxyType(merged)
