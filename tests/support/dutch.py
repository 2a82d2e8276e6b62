"""A stored alert event and the Dutch text the server makes of it: shared by the Dutch tests
of the records (tests/records/test_dutch.py) and of the e-mails
(tests/alerting/test_dutch_notifications.py); and the detector of our French words in a
Dutch document (those tests and the demo day's, tests/coldchain/test_demo.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The stored event of a closed warning, as alerts/events.py publishes it (AlertEvent.to_dict):
# what the server makes the Dutch text from.
EVENT: dict[str, Any] = {
    "kind": "temperature_excursion",
    "status": "closed",
    "severity": "warning",
    "location_name": "Zone frais",
    "probe_id": "van-a-1",
    "channel": "air",
    "detail": "",
    "duration_ms": 10 * 60_000,
    "peak": 6.5,
    "limit": {"max_c": 4.0, "min_c": None, "category": "minced_meat", "label_applied": False},
}
DUTCH_TEXT = (
    "Zone frais: 6,5 °C boven de grenswaarde van 4 °C (gehakt vlees, lucht) gedurende 10 min"
)


# Common French words of ours: none may show in a Dutch document. (« sonde » is Dutch too,
# the FAVV's word: only its French company is looked for.)
FRENCH_WORDS = (
    "pendant",
    "limite",
    "mesures",
    "toutes",
    "au-dessus",
    "en dessous",
    "délai",
    "dépassé",
    "notre choix",
    "référence",
    "vérifi",
    "alerte",
    "pic ",
    "entre ",
    "la sonde",
    "remontée",
    "tolérance",
    "scellé",
    "empreinte",
    "enregistrement",
    "livraison",
    "aucun",
    "modifié",
    " et ",
    " du ",
    " de la ",
)


def french_words_in(text: str, allowed: Iterable[str]) -> list[str]:
    """The French words of ours in `text`, once what `allowed` lets say them (data people
    typed, legal citations as published, file names) is removed, each with what stands
    around it (to find where it comes from)."""
    flat = re.sub(r"\s+", " ", text)
    for said in sorted(allowed, key=len, reverse=True):  # the longest first: names in names
        flat = flat.replace(said, " ")
    lower = flat.lower()
    return [
        flat[max(0, at - 40) : at + 40]
        for word in FRENCH_WORDS
        for at in [m.start() for m in re.finditer(re.escape(word), lower)]
    ]
