"""The page, the record and the engine say the same of the same readings.

A producer's or driver's page status, a load's record verdict and the shading of the record's
chart all judge readings with the engine's rules (alerts/judgement.py). Before, the page
ignored the transport tolerance (« Au-dessus de la limite » beside a tolerated rise) and the
warning band over a minimum, and the verdict tolerated a frozen rise that lasted the whole
tolerance duration, which the engine calls critical. Near a limit, the page says so
(« Proche de la limite ») and the engine raises no alert: the readings are legal; a rise
within the transport tolerance is « écart toléré » on the record, and no alert either.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest

from alerts.config import LocationKind
from alerts.events import EventType
from alerts.findings import AlertKind, Severity
from alerts.judgement import judge
from alerts.limits import Lot, ZoneLimit, limit_for_category, limit_for_lots
from alerts.profiles import load_profiles
from server.domain.place_readings import PlaceReading
from server.pages.i18n import translator
from server.pages.status import STATUS, status_of
from server.pages.web import templates
from server.records.chart import Limit, excursion_spans
from server.records.verdict import MAX_STEP_MS, Point, limit_of, statistics, verdict
from tests.alerts.helpers import MIN, T0, engine_for, feed, minutes, told

PROFILES = load_profiles()


@dataclass(frozen=True)
class Case:
    category: str
    before: float  # a while at this value, then
    value: float  # this many minutes at this value, then back
    count: int
    severity: Severity | None  # the engine's alert (None: no alert)
    page: str  # the page's status word at `value`
    verdict: str


CASES = {
    # Frozen goods in a van, 2 °C above their -18 °C limit: within the transport tolerance.
    "frozen_within_tolerance": Case(
        "quick_frozen", -22.0, -16.0, 10, None, "tolerated", "ecart_tolere"
    ),
    # Fresh poultry just over its -2 °C minimum: the cold warning band, within the limit.
    "poultry_near_its_minimum": Case("poultry_meat", 1.0, -1.8, 15, None, "warning", "conforme"),
    # Minced meat just under its 2 °C maximum: the warm warning band, within the limit.
    "minced_near_its_maximum": Case("minced_meat", 0.5, 1.8, 15, None, "warning", "conforme"),
    # Minced meat just over its 2 °C maximum, briefly: a warning, not yet critical.
    "minced_just_over": Case("minced_meat", 0.5, 2.3, 5, Severity.WARNING, "over", "ecart_tolere"),
    # Frozen goods beyond their tolerance: critical at once, non conforme.
    "frozen_beyond_tolerance": Case(
        "quick_frozen", -22.0, -14.0, 5, Severity.CRITICAL, "over", "non_conforme"
    ),
    # Frozen goods within the tolerance for its whole duration: 30 min beyond is too long.
    # The page judges the reading alone (the alert tells how long it has lasted).
    "frozen_tolerance_used_up": Case(
        "quick_frozen", -22.0, -16.0, 31, Severity.CRITICAL, "tolerated", "non_conforme"
    ),
    # Poultry too cold for 20 minutes: beyond the critical delay.
    "poultry_too_cold": Case(
        "poultry_meat", 1.0, -2.5, 20, Severity.CRITICAL, "under", "non_conforme"
    ),
}


def page(value: float, limit: ZoneLimit, *, in_transport: bool) -> str:
    at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    reading = PlaceReading("p1", "air", at, 1, value, value, None, None, True)
    return status_of(reading, limit, at, in_transport=in_transport)


@pytest.mark.parametrize("name", sorted(CASES))
def test_page_record_and_chart_agree_with_the_engine(name: str) -> None:
    case = CASES[name]
    values = [case.before] * 5 + [case.value] * case.count + [case.before] * 15
    readings = minutes(values)  # air: a 6 °C step is not an impossible jump there
    lots = [Lot("L", case.category, T0 - MIN)]
    engine = engine_for("ambient", lots=lots)
    events = feed(engine, readings)
    limit = limit_for_lots(PROFILES, lots, T0, "ambient")  # what the driver's page uses
    above_ms = case.count * MIN if judge(case.value, limit, in_transport=True).beyond else 0
    records = [r for r in engine.records("loc-1") if r.kind is AlertKind.TEMPERATURE]
    if case.severity is None:
        assert records == [] and events == []  # no alert, nothing told
    else:
        [record] = records
        assert record.severity is case.severity and record.time_above_ms == above_ms

    assert page(case.value, limit, in_transport=True) == case.page
    assert page(case.before, limit, in_transport=True) == "ok"

    stated = limit_of(PROFILES, case.category, None)  # what the load's record states
    points = [Point(r.time_ms, r.value) for r in readings if r.value is not None]
    stats = statistics(points, stated)
    assert stats["minutes_above"] * MIN + stats["minutes_below"] * MIN == above_ms
    decided = verdict(stats, stated)
    assert decided["code"] == case.verdict, decided["rule_fr"]
    if case.page == "tolerated" and case.verdict == "ecart_tolere":
        assert "tolérance de transport" in decided["rule_fr"]  # the tolerance used, recorded

    lines = [(p.time_ms, p.value) for p in points]
    drawn = [Limit(T0 - MIN, T0 + 60 * MIN, stated["max_c"], stated["min_c"])]
    shaded = excursion_spans(lines, drawn, MAX_STEP_MS)
    if above_ms:
        assert shaded == [(T0 + 5 * MIN, T0 + 5 * MIN + above_ms)]
    else:
        assert shaded == []


def test_a_cold_room_has_no_transport_tolerance() -> None:
    """A producer's cold room of frozen goods: 2 °C over is over, on the page and for the
    engine (a warning at once, critical after 15 min, as with any limit without tolerance);
    -19 °C is near the limit: a page status, no alert."""
    room = limit_for_category(PROFILES, "quick_frozen")
    assert page(-16.0, room, in_transport=False) == "over"
    assert page(-19.0, room, in_transport=False) == "warning"
    assert page(-21.0, room, in_transport=False) == "ok"
    engine = engine_for("quick_frozen", kind=LocationKind.COLD_ROOM)
    assert feed(engine, minutes([-21.0] * 5 + [-19.0] * 60)) == []
    events = told(feed(engine, minutes([-16.0] * 16, start=T0 + 65 * MIN)))
    assert [(e.event, e.severity) for e in events] == [
        (EventType.OPENED, Severity.WARNING),
        (EventType.ESCALATED, Severity.CRITICAL),
    ]


def test_a_label_temperature_is_judged_without_tolerance_everywhere() -> None:
    lots = [Lot("L", "quick_frozen", T0 - MIN, label_max_c=-20.0)]
    engine = engine_for("ambient", lots=lots)
    feed(engine, minutes([-22.0] * 5 + [-19.0] * 16 + [-22.0] * 15))
    [record] = engine.records("loc-1")
    assert record.severity is Severity.CRITICAL  # 15 min beyond a label limit
    limit = limit_for_lots(PROFILES, lots, T0, "ambient")
    assert page(-19.0, limit, in_transport=True) == "over"
    stated = limit_of(PROFILES, "quick_frozen", -20.0)
    points = [Point(T0 + i * MIN, -19.0) for i in range(16)] + [Point(T0 + 16 * MIN, -22.0)]
    assert verdict(statistics(points, stated), stated)["code"] == "non_conforme"


@pytest.mark.parametrize(("count", "code"), [(29, "ecart_tolere"), (30, "non_conforme")])
def test_the_tolerance_duration_is_reached_at_30_min_as_in_the_engine(
    count: int, code: str
) -> None:
    """The engine turns a tolerated rise critical once it has lasted 30 min; the verdict
    used to tolerate exactly 30 min. Both now call 30 min too long."""
    stated = limit_of(PROFILES, "quick_frozen", None)
    points = [Point(T0 + i * MIN, -16.0) for i in range(count)] + [Point(T0 + count * MIN, -22.0)]
    stats = statistics(points, stated)
    assert stats["minutes_above"] == count
    assert verdict(stats, stated)["code"] == code


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_status_the_page_can_show_has_an_icon_and_words(lang: str) -> None:
    badge = templates.env.get_template("_status.html")
    for status in [*STATUS.values(), "over", "under", "none"]:
        html = badge.render(status=status, t=translator(lang))
        found = re.search(r'status-(\w+)"><span aria-hidden="true">(.+?)</span> (.+?)</span>', html)
        assert found is not None and found.group(1) == status, html
        assert found.group(2).strip() and found.group(3).strip(), html
