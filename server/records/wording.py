"""The words of the documents an inspector reads (the sealed delivery record's PDF, the
producer's extract, a location's summary): every text comes from the gettext catalogue
`records` (server/locale/<lang>/LC_MESSAGES/records.po, read by server/core/catalogue.py;
these documents' keys begin with `pdf_`), numbers and times from server/records/timefmt.py.

A stored value shown by name: a channel, an alert's kind, state or severity by the name the
pages give it too (server/records/vocabulary.py: the `pages` catalogue, context `value`,
one list for both); what only the documents name (a lot's decision as taken, a stop's kind,
how a departure check was measured, a verdict) by the `records` message whose id is the
value and whose context its kind (`msgctxt "decision"`, msgid "release"). A count says its
noun in the right form (« 1 pièce », « 40 pièces »: `count`); a unit symbol (kg, V) has no
plural.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from coldchain import clock
from coldchain.protocol import CHANNELS
from server.core import catalogue, numbers
from server.records import timefmt, vocabulary

DOMAIN = "records"
# Kinds of stored values only the documents name: the context of their messages.
DECISION, STOP_KIND, CHECK_SOURCE, VERDICT = "decision", "stop_kind", "check_source", "verdict"
CONTEXTS = (DECISION, STOP_KIND, CHECK_SOURCE, VERDICT)
# The unit of each channel (coldchain.protocol.CHANNELS) as the documents write it.
UNIT_KEYS = {"°C": "pdf_unit_celsius", "%RH": "pdf_unit_relative_humidity", "V": "pdf_unit_volt"}
# Load units typed as a noun (free text on the load): the noun's singular and plural
# messages, and the spellings people type for it. Anything else (kg, l, a word we do not
# know) is printed as typed: symbols have no plural.
NOUNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("pdf_unit_piece_one", "pdf_unit_piece_other"): (
        "pièce",
        "pièces",
        "piece",
        "pieces",
        "pc",
        "pcs",
    ),
    ("pdf_unit_unit_one", "pdf_unit_unit_other"): ("unité", "unités", "unit", "units"),
    ("pdf_unit_crate_one", "pdf_unit_crate_other"): ("caisse", "caisses", "crate", "crates"),
    ("pdf_unit_parcel_one", "pdf_unit_parcel_other"): ("colis", "parcel", "parcels"),
    ("pdf_unit_tray_one", "pdf_unit_tray_other"): ("barquette", "barquettes", "tray", "trays"),
    ("pdf_unit_bottle_one", "pdf_unit_bottle_other"): (
        "bouteille",
        "bouteilles",
        "bottle",
        "bottles",
    ),
    ("pdf_unit_box_one", "pdf_unit_box_other"): ("boîte", "boîtes", "box", "boxes"),
    ("pdf_unit_carton_one", "pdf_unit_carton_other"): ("carton", "cartons"),
    ("pdf_unit_jar_one", "pdf_unit_jar_other"): ("pot", "pots", "jar", "jars"),
    ("pdf_unit_portion_one", "pdf_unit_portion_other"): ("portion", "portions"),
    ("pdf_unit_bag_one", "pdf_unit_bag_other"): ("sac", "sacs", "bag", "bags"),
}
_NOUN_OF = {spelling: forms for forms, spellings in NOUNS.items() for spelling in spellings}


@dataclass(frozen=True)
class Words:
    """The documents' words in one language (French unless told)."""

    lang: str = "fr"

    @property
    def texts(self) -> Mapping[str, str]:
        return catalogue.words(DOMAIN, self.lang)

    def __call__(self, key: str, **fields: Any) -> str:
        """The message `key`, its {placeholders} filled (values already written as text)."""
        text = self.texts[key]
        return text.format(**fields) if fields else text

    def sealed(self, french: str) -> str:
        """A text a record sealed in French that cannot be made again in this language (a
        record sealed before its facts were kept, or by an older rule): printed as sealed,
        with a note saying so; French as it is."""
        return french if self.lang == "fr" else f"{french} {self('pdf_sealed_wording')}"

    def name(self, code: str | None) -> str:
        """A channel, alert kind, state or severity by the name the pages give it too;
        '—' for none."""
        return vocabulary.value(code, self.lang) or numbers.NONE

    def value(self, context: str, code: str | None) -> str:
        """A value only the documents name (`context`: DECISION, STOP_KIND...); '—' for none.
        A value the catalogue does not know yet is printed as stored (tests/records check
        that every value of the code's enums has its words)."""
        if code is None:
            return numbers.NONE
        return catalogue.words(DOMAIN, self.lang, context).get(code, code)

    def count(self, n: float | int | Decimal, one: str, other: str, **fields: Any) -> str:
        """The message `one` or `other`, as `n` asks in this language, with {n} written."""
        key = one if numbers.plural_form(n, self.lang) == "one" else other
        return self(key, n=self.number(n), **fields)

    # Numbers, measures, quantities.
    def number(self, value: float | int | str | Decimal | None, digits: int | None = None) -> str:
        if isinstance(value, Decimal):
            value = str(value)
        return timefmt.number(value, digits, self.lang)

    def celsius(self, value: float | None, digits: int = 1) -> str:
        return timefmt.celsius(value, digits, self.lang)

    def unit(self, channel: str) -> str:
        """The unit of a channel's values as written (« °C », « % HR », « V »); '' for a
        state (a door: open or closed)."""
        spec = CHANNELS.get(channel)
        if spec is None or not spec.unit:
            return ""
        key = UNIT_KEYS.get(spec.unit)
        return self(key) if key else spec.unit

    def measure(self, channel: str, value: float | None, digits: int = 1) -> str:
        """A value with the unit of its channel: « 2,5 °C », « 12,6 V », « 85,0 % HR »."""
        if value is None:
            return numbers.NONE
        unit = self.unit(channel)
        text = self.number(value, digits)
        return f"{text} {unit}" if unit else text

    def quantity(self, quantity: str | float | int, unit: str) -> str:
        """A load's quantity with its unit: « 8 kg », « 1 pièce », « 1 234 pièces »."""
        try:
            amount = Decimal(str(quantity))
        except InvalidOperation:
            return f"{quantity} {unit}".strip()
        forms = _NOUN_OF.get(unit.strip().lower().rstrip("."))
        if forms is None:
            return f"{self.number(amount)} {unit}".strip()
        return self.count(amount, *forms)

    # Times, in the site's zone.
    def time(self, value: str | int | None) -> str:
        """« 10/03/2026 07:05 » (French) or « 2026-03-10 07:05 » (English)."""
        return timefmt.local(value, self("pdf_format_datetime"))

    def day(self, value: str | int | None) -> str:
        return timefmt.local(value, self("pdf_format_date"))

    def clock(self, value: str | int | None) -> str:
        return timefmt.local(value, "%H:%M")

    def zone_note(self, start: str | int, end: str | int) -> str:
        """The once-per-document statement of the time zone and its UTC offset (and the clock
        change when the period has one)."""
        found = timefmt.offsets(start, end)
        zone = clock.zone().key
        text = self("pdf_times_zone", zone=zone, offset=found[0][1])
        for moment, offset in found[1:]:
            text += " " + self(
                "pdf_times_zone_change", offset=offset, at=self.time(int(moment.timestamp() * 1000))
            )
        return text
