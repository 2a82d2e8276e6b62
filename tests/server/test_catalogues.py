"""The gettext catalogues (server/locale/, read by server/core/catalogue.py): every message
in every language with the same parameters, every word the templates and the code ask for
present, no message the code no longer uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from alerts import wording
from server.core import catalogue
from server.core.validation_fr import TYPES, problem

SERVER = Path(catalogue.__file__).resolve().parent.parent
TEMPLATES = SERVER / "pages" / "templates"

# Keys the pages build from a stored value (`t["status_" + status]`, f"course_ended_{kind}",
# `t["dlv_" + stop.kind]`): a key with one of these prefixes counts as used.
BUILT_PREFIXES = (
    "status_",
    "dlv_status_",
    "zone_",
    "course_ongoing_",
    "course_ended_",
    "dlv_pickup",
    "dlv_drop",
    "dlv_place_",
    "dlv_source_",
    "decision_",
    "kind_",
    "banner_",
    "lots_verdict_",
    "language_",  # the export form: t["language_" + code]
    "temperature_above_",  # alerts/texts.py: f"temperature_{side}_{open or closed}"
    "temperature_below_",
)


def _messages(domain: str, lang: str) -> dict[tuple[str | None, str], str]:
    with catalogue.path(domain, lang).open("rb") as po:
        catalog = read_po(po, abort_invalid=True)
    return {(m.context, str(m.id)): str(m.string) for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _sources() -> str:
    # The probe contract too: its channels and fault codes are stored values named in the
    # catalogue (context `value`), which the server shows without spelling them out.
    # The engine too: it writes the alert texts from the `alerts` catalogue (alerts/wording.py).
    contract = SERVER.parent / "coldchain" / "protocol"
    engine = SERVER.parent / "alerts"
    files = [
        *SERVER.rglob("*.py"),
        *TEMPLATES.rglob("*.html"),
        *contract.glob("*.py"),
        *engine.glob("*.py"),
    ]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


@pytest.mark.parametrize("domain", catalogue.DOMAINS)
def test_every_language_has_every_message_with_the_same_parameters(domain: str) -> None:
    french = _messages(domain, "fr")
    assert french
    for lang in catalogue.LANGUAGES[1:]:
        other = _messages(domain, lang)
        assert set(other) == set(french), f"{lang}: missing {set(french) - set(other)}"
        for key, text in french.items():
            assert other[key].strip(), f"{lang} {key}: empty"
            assert _fields(other[key]) == _fields(text), f"{lang} {key}: other parameters"


def test_every_word_the_templates_and_pages_ask_for_is_in_the_catalogue() -> None:
    words = catalogue.words("pages", "fr")
    asked: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        asked |= set(re.findall(r"\bt\.([a-z_0-9]+)", text))
        asked |= set(re.findall(r"\bt\[\"([a-z_0-9]+)\"\]", text))
    for module in (SERVER / "pages").glob("*.py"):
        text = module.read_text(encoding="utf-8")
        asked |= set(re.findall(r"\b(?:words|t)\[[\"']([a-z_0-9]+)[\"']\]", text))
        asked |= set(re.findall(r"\bword=[\"']([a-z_0-9]+)[\"']", text))
    asked -= {"get", "items"}  # methods of the mapping, not words
    assert asked, "the scan found no word: the pattern is wrong"
    assert asked <= set(words), f"missing words: {sorted(asked - set(words))}"


def test_every_error_code_the_code_raises_has_a_message() -> None:
    raised = set(re.findall(r"ApiError\(\s*\d{3},\s*\"([a-z_]+)\"", _sources()))
    assert "not_found" in raised, "the scan found no error code: the pattern is wrong"
    assert raised <= set(catalogue.words("api", "fr")), sorted(
        raised - set(catalogue.words("api", "fr"))
    )


@pytest.mark.parametrize("domain", catalogue.DOMAINS)
def test_no_message_is_left_that_the_code_no_longer_uses(domain: str) -> None:
    sources = _sources()
    # A key is used when it stands in the sources as a whole word of [a-z_0-9]: the words
    # are collected once (a search per key took seconds).
    words = set(re.findall(r"[a-z_0-9]+", sources))
    unused = [
        key
        for _context, key in _messages(domain, "fr")
        if not key.startswith(BUILT_PREFIXES)
        and key not in words
        and not (
            re.fullmatch(r"[a-z_0-9]+", key) is None
            and re.search(rf"(?<![a-z_0-9]){re.escape(key)}(?![a-z_0-9])", sources)
        )
    ]
    assert not unused, f"{domain}: messages no code uses: {unused}"


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
@pytest.mark.parametrize("domain", catalogue.DOMAINS)
def test_no_message_is_written_twice(domain: str, lang: str) -> None:
    # Babel keeps the last of two entries with one id: the first would be silently lost.
    text = catalogue.path(domain, lang).read_text(encoding="utf-8")
    keys = re.findall(r'^(?:msgctxt "([^"]*)"\n)?msgid "([^"]+)"$', text, re.M)
    twice = sorted({key for key in keys if keys.count(key) > 1})
    assert keys and not twice, f"{domain} {lang}: written twice: {twice}"


def test_a_missing_language_falls_back_to_french() -> None:
    assert catalogue.words("pages", "de")["limit"] == catalogue.words("pages", "fr")["limit"]
    assert catalogue.words("pages", "en")["limit"] == "Limit"
    assert catalogue.words("pages", "fr", "value")["hygiene_officer"] == "responsable hygiène"


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_the_engines_own_reader_reads_the_alerts_catalogue_as_babel_does(lang: str) -> None:
    # The engine may not import Babel (import-linter): its reader must not drift from it.
    text = catalogue.path("alerts", lang).read_text(encoding="utf-8")
    babel = {key: value for key, value in _messages("alerts", lang).items() if value}
    assert wording.parse(text) == babel
    assert len(babel) > 40


def test_dutch_is_there_and_is_not_french() -> None:
    # A copied French file would pass the test of keys: the common words must be Dutch.
    pages = catalogue.words("pages", "nl")
    assert pages["cold_rooms"] == "Koelcellen" and pages["van"] == "Bestelwagen"
    assert pages["corrective_action"] == "Corrigerende maatregel"
    assert catalogue.words("records", "nl")["plan_col_room"] == "Koelcel"
    assert catalogue.words("api", "nl")["not_found"] == "Niet gevonden."
    assert catalogue.words("alerts", "nl", "display")["door_open"] == "DEUR OPEN"
    short = {"type": "string_too_short", "msg": "String should...", "ctx": {"min_length": 10}}
    assert problem(short, "nl") == "te kort (minstens 10 teken(s))"
    assert problem(short, "fr") == "trop court (au moins 10 caractère(s))"
    for domain in catalogue.DOMAINS:
        french, dutch = catalogue.words(domain, "fr"), catalogue.words(domain, "nl")
        same = [key for key, text in dutch.items() if text == french[key] and len(text) > 12]
        assert len(same) <= 6, f"{domain}: still French in nl? {same}"


def test_every_validation_type_has_its_sentence() -> None:
    for lang in catalogue.LANGUAGES:
        assert set(TYPES) <= set(catalogue.words("api", lang, "validation")), lang


# French puts a space before « : » (« Lot : X »); Dutch and English do not ("Lot: X").
FRENCH_COLON = re.compile(r"\s:(?=\s|$)")


@pytest.mark.parametrize("lang", [lang for lang in catalogue.LANGUAGES if lang != "fr"])
@pytest.mark.parametrize("domain", catalogue.DOMAINS)
def test_no_french_space_before_a_colon_in_other_languages(domain: str, lang: str) -> None:
    spaced = [key for key, text in _messages(domain, lang).items() if FRENCH_COLON.search(text)]
    assert not spaced, f"{domain} {lang}: a space before ':' (French typography): {spaced}"


def test_templates_leave_the_colon_to_the_catalogue() -> None:
    # Between two translated parts, the separator is the word `sep_colon` (« : » in
    # French, ": " in Dutch and English): a « : » written in a template is French for all.
    written = re.compile(r"(?:\}\}|%\}|\w|\))[ \t]+:(?=[\s<{]|$)", re.M)
    found = [
        f"{template.name}: {match.group(0)}"
        for template in TEMPLATES.rglob("*.html")
        for match in written.finditer(template.read_text(encoding="utf-8"))
    ]
    assert not found, found
    colon = {lang: catalogue.words("pages", lang)["sep_colon"] for lang in catalogue.LANGUAGES}
    assert colon == {"fr": " : ", "nl": ": ", "en": ": "}
