"""What every document an inspector reads must (not) say: the code's own English words
(enum values, channel names, the sealed document's data-quality keys: not a list typed
here), a glyph the PDF fonts draw as a box, a decimal point, « 40 pièce »; and the text of
a PDF as pypdf reads it. Used by tests/records and the demo day (tests/coldchain/test_demo.py).
"""

from __future__ import annotations

import io
import re
from enum import StrEnum

from pypdf import PdfReader

from alerts.findings import AlertKind, Severity
from alerts.judgement import Level
from coldchain.protocol import CHANNELS
from server.core import catalogue
from server.core.models import DeliveryStatus, PlaceKind, StopKind
from server.core.models.alerts import AlertState, Decision
from server.core.models.fleet import ZoneKind
from server.records import document, wording

# Markers of maintainers' working notes that must never reach a document (regex patterns).
WORKING_NOTES = (r"\brelu", r"non lue", r"\bours\b", r"\bTODO\b", r"notre choix", r"NOTRE")
BOX = "■"  # what pypdf reads where reportlab drew a glyph the fonts lack


def english_words() -> set[str]:
    """Words of the code's stored values (enums, channel names, the sealed document's
    data-quality keys) that are not French words of the catalogues: none may show in a
    French PDF."""
    enums: list[type[StrEnum]] = [
        AlertState,
        Decision,
        Severity,
        AlertKind,
        Level,
        StopKind,
        PlaceKind,
        DeliveryStatus,
        ZoneKind,
    ]
    codes = [*CHANNELS, *(m.value for enum in enums for m in enum), *document.quality([])]
    tokens = {t for code in codes for t in re.split(r"[^a-z]+", code.lower()) if len(t) > 2}
    texts = [*catalogue.words("records", "fr").values(), *catalogue.words("pages", "fr").values()]
    texts += [t for c in wording.CONTEXTS for t in catalogue.words("records", "fr", c).values()]
    french = " ".join([*texts, *catalogue.words("pages", "fr", "value").values()])
    french = re.sub(r"\{[^}]*\}", " ", french)  # the {placeholders} are no words
    return tokens - set(re.findall(r"[a-zà-ÿœ]+", french.lower()))


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def check_french(text: str) -> None:
    """What no French PDF may say: an English word of the code, a glyph drawn as a box, a
    decimal point, a noun after a count above one in the singular."""
    english = english_words()
    assert {"door", "battery", "open", "readings", "product"} <= english  # the list is real
    found = sorted(w for w in english if re.search(rf"(?<![\w-]){w}(?![\w-])", text, re.I))
    assert not found, f"English words in the PDF: {found}"
    assert BOX not in text, "a glyph the PDF fonts do not have"
    assert not re.search(r"(?<![\w.])\d+\.\d+(?![\w.])", text), re.search(
        r".{30}(?<![\w.])\d+\.\d+(?![\w.]).{30}", text
    )
    for count in re.findall(r"(\d[\d ]*) pièce\b", text):
        assert int(count.replace(" ", "")) <= 1, f"« {count} pièce »"
