"""The PDFs an AFSCA inspector reads (the sealed delivery record, the producer's extract, a
location's summary for one day and for ten days) read right at first read: French words
only, numbers and units the French way, every channel on its own axis, nothing the PDF
fonts draw as a box. The data has every channel a probe sends (tests/records/pdf_support.py).

The English words a PDF must not show are the code's own (enum values, channel names, the
data-quality keys of the sealed document), not a list typed here. The first page of each PDF
is kept as a PNG (pdftoppm, poppler-utils) in a folder under the test's tmp path, printed."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reportlab.graphics.shapes import Group, PolyLine, Shape

from alerts.findings import AlertKind, Severity
from alerts.limits import limit_for_category
from coldchain.protocol import CHANNELS, EVENT_CHANNELS, TEMPERATURE_CHANNELS
from server.core import catalogue
from server.core.access import Interval
from server.core.models import StopKind
from server.core.models.alerts import AlertState, Decision
from server.domain.categories import profiles
from server.domain.place_readings import Place
from server.records import chart, locations, pdfkit, record_pdf, wording
from server.records.verdict import describe_limit
from server.records.wording import Words
from tests.records.pdf_support import (
    BATTERY_CELL,
    ROOM_DAYS,
    delivery_readings,
    room_readings,
    sealed_rich_delivery,
)
from tests.records.support import END, START
from tests.server.world import D1, brussels
from tests.support.documents import check_french, text_of


class Artefacts:
    """The PDFs of a test and the PNG of their first page, in a folder under tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "pdf-documents"
        self.folder.mkdir(exist_ok=True)
        self.pdftoppm = shutil.which("pdftoppm")
        print(f"PDF documents and their first page as PNG: {self.folder}")
        if self.pdftoppm is None:
            warnings.warn(
                "pdftoppm (poppler-utils) is not installed: the first pages are not kept as PNG",
                stacklevel=2,
            )

    def keep(self, name: str, pdf: bytes) -> str:
        path = self.folder / f"{name}.pdf"
        path.write_bytes(pdf)
        if self.pdftoppm is not None:
            subprocess.run(
                [
                    self.pdftoppm,
                    "-png",
                    "-r",
                    "80",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(path),
                    str(self.folder / name),
                ],
                check=True,
                timeout=60,
            )
            assert (self.folder / f"{name}.png").stat().st_size > 0
        return text_of(pdf)


def shapes(
    node: Any, panel: chart.Panel | None = None
) -> Iterator[tuple[chart.Panel | None, Shape]]:
    """Every shape of a drawing with the panel (axis) it is drawn in."""
    for child in getattr(node, "contents", []):
        here = child if isinstance(child, chart.Panel) else panel
        yield here, child
        if isinstance(child, Group):
            yield from shapes(child, here)


def plotted(drawing: Any) -> dict[str, tuple[set[str], int]]:
    """Channel -> (units of the axes its points are on, how many points)."""
    out: dict[str, tuple[set[str], int]] = {}
    for panel, shape in shapes(drawing):
        if isinstance(shape, chart.Trace | chart.Mark | chart.Envelope):
            assert panel is not None, f"{shape.channel} drawn outside any axis"
            units, n = out.get(shape.channel, (set(), 0))
            if isinstance(shape, chart.Trace):
                n += len(shape.points) // 2
            elif isinstance(shape, chart.Mark):
                n += 1
            out[shape.channel] = (units | {panel.unit}, n)
    return out


def check_axes(drawing: Any) -> dict[str, tuple[set[str], int]]:
    """Each channel on the axis of its own unit (coldchain.protocol.CHANNELS): temperatures on
    °C, a supply voltage on V, humidity on %RH; a door never as a line."""
    found = plotted(drawing)
    for channel, (units, _) in found.items():
        assert channel not in EVENT_CHANNELS, f"{channel} drawn as a line"
        assert units == {CHANNELS[channel].unit}, f"{channel} on the {units} axis"
    return found


def limit_lines(drawing: Any) -> list[PolyLine]:
    return [
        s
        for panel, s in shapes(drawing)
        if type(s) is PolyLine
        and s.strokeColor == chart.LIMIT_COLOUR
        and panel
        and panel.unit == "°C"
    ]


def test_the_sealed_record_and_the_extract_read_right(app, world, reading_store, tmp_path) -> None:
    keep = Artefacts(tmp_path).keep
    record = sealed_rich_delivery(app, world, reading_store)
    hygiene = world["hygiene_a"]
    pdf = hygiene.get(f"/api/v1/records/{record['id']}/pdf")
    assert pdf.status_code == 200, pdf.text
    text = keep("livraison", pdf.content)
    check_french(text)
    for expected in (
        "8 kg",  # not « 8.000 kg »
        "4 kg",
        "1 234 pièces",  # a no-break space between thousands
        "40 pièces",
        "1 pièce",
        "Température à cœur : 5,8 °C (thermomètre Testo 104 n° 4471)",
        "LOT-L1 : libéré (5,8 °C à cœur)",
        "LOT-YAOURT : déclassé : DLC raccourcie (DLC ramenée à J+2)",
        "état de l'alerte : ouverte",  # the door nobody acted on yet
        "porte ouverte",
        "12,6 V",  # the van's supply voltage, in volts
        "% HR",
        "alimentation",
        "à cœur 3,1 °C",  # the receiver's check at the drop
        "mesure manuelle",  # how the departure check was measured
        "enlèvement",
        "hors ligne",
        "Zone frais : 924 mesures",
    ):
        assert expected in text, expected
    # The door is no silence: one gap (all of van-a-1's sampled channels at 09:00), not two.
    assert "1 interruption des mesures dont 1 période hors ligne" in text
    assert not re.search(r"(?<![-\d])1\d,\d °C", text), "a supply voltage printed as a temperature"
    assert text.count("UTC+01:00") == 1, "the UTC offset stated once"
    assert "Europe/Brussels" in text

    doc = json.loads(hygiene.ok("GET", f"/api/v1/records/{record['id']}/json")["document"])
    zones = {zone["name"]: zone for zone in doc["zones"]}
    frais, facts = record_pdf.zone_chart(zones["frais"], doc["loads"], Words())
    found = check_axes(frais)
    assert set(found) == {"air", "product", "humidity", "battery"}
    counts = record_pdf.zone_series(zones["frais"])
    for channel, (_, n) in found.items():
        assert n == len(counts[channel]), channel  # every reading drawn, the gap left open
    assert len(facts["doors"]) == 2 and limit_lines(frais)
    english = text_of(
        record_pdf.render(doc, record["record_hash"], record["previous_hash"], lang="en")
    )
    for expected in ("HACCP record — delivery no.", "1,234 pieces", "shelf life shortened"):
        assert expected in english, expected  # the same document from the English catalogue
    surgele, facts = record_pdf.zone_chart(zones["surgelé"], doc["loads"], Words())
    assert set(check_axes(surgele)) == {"air", "battery"}
    assert [b.kind for b in facts["excursions"]] == [chart.TOLERATED]  # -16,5 °C, +3 °C allowed

    extract = world["producer1"].get(f"/api/v1/records/{record['id']}/producer-extract.pdf")
    assert extract.status_code == 200, extract.text
    text = keep("extrait-producteur", extract.content)
    check_french(text)
    assert "LOT-L1" in text and "12,5 kg" in text and "LOT-YAOURT" not in text


def test_late_data_is_marked_on_the_new_version(app, world, reading_store) -> None:
    record = sealed_rich_delivery(app, world, reading_store)
    delivery_readings(reading_store, late=True)  # van-a-1's backlog of 09:00–09:40
    hygiene = world["hygiene_a"]
    second = hygiene.ok("POST", f"/api/v1/records/deliveries/{world.ids['DA']}/seal", status=201)
    first_doc = json.loads(hygiene.ok("GET", f"/api/v1/records/{record['id']}/json")["document"])
    doc = json.loads(hygiene.ok("GET", f"/api/v1/records/{second['id']}/json")["document"])
    zone = next(z for z in doc["zones"] if z["name"] == "frais")
    earlier = next(z for z in first_doc["zones"] if z["name"] == "frais")
    _, facts = record_pdf.zone_chart(zone, doc["loads"], Words(), earlier)
    assert facts["late"] == 40 * 4  # air, product, humidity, supply voltage for 40 minutes
    text = text_of(hygiene.get(f"/api/v1/records/{second['id']}/pdf").content)
    check_french(text)
    assert "160 mesures arrivées après le scellement de la version précédente" in text


def room(world: Any, days: int) -> tuple[locations.Location, tuple[datetime, datetime]]:
    ids = world.ids
    limit = describe_limit(profiles(), limit_for_category(profiles(), "chilled_retail"))
    start = brussels(D1, 0)
    window: Interval = (start, start + timedelta(days=ROOM_DAYS))
    location = locations.Location(
        f"chambre-froide-{ids['CR1']}",
        "Chambre froide chèvrerie",
        Place(cold_room_id=ids["CR1"]),
        [window],
        limit,
        "chilled_retail",
    )
    return location, (start, start + timedelta(days=days))


def summary_of(
    app: Any, store: Any, location: locations.Location, period: tuple[datetime, datetime]
) -> Any:
    with app.state.sessionmaker() as session:
        start, end = period
        return locations.write_readings(session, store, location, start, end, io.BytesIO())


def summary_pdf(location: locations.Location, summary: Any, alerts: list[Any]) -> bytes:
    out = io.BytesIO()
    locations.summary_pdf(location, summary, alerts, "la période de l'essai", out)
    return out.getvalue()


@pytest.mark.parametrize("days", [1, ROOM_DAYS])
def test_a_cold_room_summary_reads_right(app, world, reading_store, tmp_path, days) -> None:
    keep = Artefacts(tmp_path).keep
    room_readings(reading_store)
    location, period = room(world, days)
    summary = summary_of(app, reading_store, location, period)
    drawing, doors, gaps = locations.summary_chart(location, summary, Words())
    found = check_axes(drawing)
    assert set(found) == {"air", "humidity", "battery"}
    buckets = 24 if days == 1 else ROOM_DAYS  # hour by hour for one day, day by day beyond
    assert all(n == buckets for _, n in found.values()), found
    assert len(doors) == 2 * days and limit_lines(drawing)
    assert len(gaps) == (0 if days == 1 else 1)  # the fifth day's three silent hours
    text = keep(f"chambre-froide-{days}j", summary_pdf(location, summary, []))
    check_french(text)
    volts = wording.Words().measure("battery", BATTERY_CELL)
    assert volts == "3,6 V" and volts in text
    assert "3,6 °C" not in text, "a supply voltage printed as a temperature"
    assert "85,0 % HR" in text and "Dépassements de la limite" in text
    assert ("Températures heure par heure" if days == 1 else "Températures jour par jour") in text
    if days == ROOM_DAYS:
        assert "9,0 °C" in text and "hors ligne : la sonde n'a rien envoyé" in text


def test_a_van_zone_summary_for_one_day_draws_its_hours(app, world, reading_store, tmp_path):
    keep = Artefacts(tmp_path).keep
    record = sealed_rich_delivery(app, world, reading_store)
    ids = world.ids
    location = locations.Location(
        f"vehicule-{ids['VA']}-zone-{ids['VA_frais']}",
        "Fourgon 1 (1-ABC-123) — zone frais",
        Place(zone_id=ids["VA_frais"]),
        [(START, END)],
        None,
        None,
    )
    summary = summary_of(
        app, reading_store, location, (brussels(D1, 0), brussels(D1, 0) + timedelta(days=1))
    )
    drawing, doors, gaps = locations.summary_chart(location, summary, Words())
    found = check_axes(drawing)
    assert set(found) == {"air", "product", "humidity", "battery"}
    assert all(n >= 4 for _, n in found.values()), found  # 06:00 to 10:30, the gap left out
    assert len(doors) == 2 and len(gaps) == 1
    doc = json.loads(
        world["hygiene_a"].ok("GET", f"/api/v1/records/{record['id']}/json")["document"]
    )
    text = keep("zone-frais-1j", summary_pdf(location, summary, doc["alerts"]))
    check_french(text)
    assert "12,6 V" in text and not re.search(r"(?<![-\d])1\d,\d °C", text)
    assert "critique" in text and "Zone frais : 6,5 °C pendant 10 min" in text


def test_every_word_the_pdfs_use_is_in_the_catalogue_and_drawable() -> None:
    for lang in catalogue.LANGUAGES:
        for key, text in catalogue.words("records", lang).items():
            assert not pdfkit.undrawable(text), f"{lang} {key}: {pdfkit.undrawable(text)}"
        for context in wording.CONTEXTS:
            for text in catalogue.words("records", lang, context).values():
                assert not pdfkit.undrawable(text), (lang, context, text)
        # Every value the documents name has its words, in every language.
        named: dict[str, list[str]] = {
            wording.DECISION: list(Decision),
            wording.STOP_KIND: list(StopKind),
            wording.VERDICT: ["conforme", "ecart_tolere", "non_conforme"],
            wording.CHECK_SOURCE: ["readings", "manual"],
        }
        for context, values in named.items():
            assert set(values) <= set(catalogue.words("records", lang, context)), context
        shown = [*CHANNELS, *AlertState, *Severity, *AlertKind]
        assert set(shown) <= set(catalogue.words("pages", lang, "value")), lang
        for spec in CHANNELS.values():
            assert not spec.unit or spec.unit in wording.UNIT_KEYS
    assert set(record_pdf.DECISIONS) == set(Decision)


@pytest.mark.parametrize(
    ("lang", "quantity", "unit", "expected"),
    [
        ("fr", "8.000", "kg", "8 kg"),
        ("fr", "12.500", "kg", "12,5 kg"),
        ("fr", "1.000", "pièce", "1 pièce"),
        ("fr", "40.000", "pièce", "40 pièces"),
        ("fr", "40", "pièces", "40 pièces"),
        ("fr", "1234", "pièce", "1\u202f234 pièces"),
        ("fr", "3", "colis", "3 colis"),
        ("fr", "2", "caisse", "2 caisses"),
        ("en", "1234", "pièce", "1,234 pieces"),
        ("en", "1", "pieces", "1 piece"),
        ("fr", "5", "seaux", "5 seaux"),  # a word we do not know: as typed
    ],
)
def test_quantities(lang: str, quantity: str, unit: str, expected: str) -> None:
    assert Words(lang).quantity(quantity, unit) == expected


def test_numbers_and_glyphs() -> None:
    w = Words()
    assert (w.celsius(2.5), w.celsius(-0.04), w.measure("battery", 12.6)) == (
        "2,5 °C",
        "0,0 °C",
        "12,6 V",
    )
    assert w.measure("humidity", 85) == "85,0 % HR" and w.measure("door", 1) == "1,0"
    assert pdfkit.printable("1\u202f234 ＋ 2") == "1\u00a0234 + 2"
    assert not pdfkit.undrawable(pdfkit.printable("＋→−≤\u202f中"))
    # One helper for the pages and the documents: the same text.
    from server.pages import i18n

    assert i18n.celsius(6.45, "fr") == w.celsius(6.45) == "6,5 °C"
    assert i18n.number("12.500", "fr") == w.number("12.500") == "12,5"


def test_a_one_day_chart_with_one_reading_per_channel_still_draws() -> None:
    t = int(brussels(D1, 12).timestamp() * 1000)
    drawing = chart.chart(
        "un point",
        [chart.Series("air", [(t, 4.0)]), chart.Series("battery", [(t, 12.6)])],
        Words(),
        start_ms=t - 3_600_000,
        end_ms=t + 3_600_000,
    )
    assert check_axes(drawing) == {"air": ({"°C"}, 1), "battery": ({"V"}, 1)}
    assert TEMPERATURE_CHANNELS == {"air", "product"}


def test_the_utc_offset_and_a_clock_change_are_stated() -> None:
    w = Words()
    assert w.zone_note("2026-03-10T06:00:00Z", "2026-03-10T10:00:00Z") == (
        "Heures locales, fuseau Europe/Brussels (UTC+01:00)."
    )
    assert w.zone_note("2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z") == (
        "Heures locales, fuseau Europe/Brussels (UTC+01:00). "
        "Changement d'heure : UTC+02:00 à partir du 29/03/2026 03:00."
    )
    # Sealed in summer, delivered in winter: the sealing time says its own offset.
    assert record_pdf.sealed_at("2026-07-01T10:00:00Z", "2026-03-10T09:30:00Z", 2, w) == (
        "01/07/2026 12:00 (version 2) (UTC+02:00)"
    )
