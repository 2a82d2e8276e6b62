"""The server-side SVG chart: a week of minute readings stays small and keeps the peak."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from server.domain.place_readings import PlaceReading
from server.pages.charts import WIDTH, svg_chart


def reading(t: datetime, value: float | None) -> PlaceReading:
    fault = None if value is not None else "sensor_fault"
    return PlaceReading("cr1", "air", t, 1, value, value, None, fault, True)


def test_week_of_minutes_is_thinned_but_keeps_the_peak() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    week = [reading(start + timedelta(minutes=m), 3.0) for m in range(7 * 24 * 60)]
    week[5000] = reading(week[5000].time, 11.5)  # a short excursion
    week[6000] = reading(week[6000].time, None)  # a fault: no point drawn
    svg = svg_chart(week, start, start + timedelta(days=7), 7.0, "fr", "Chambre <1>")
    points = re.search(r'points="([^"]*)"', svg)
    assert points is not None
    pairs = points.group(1).split()
    assert len(pairs) <= 2 * WIDTH  # not 10 080 points
    highest = min(float(p.split(",")[1]) for p in pairs)  # SVG y grows downwards
    assert highest < 40  # the 11.5 °C peak is drawn (3 °C is at y = 164.8)
    assert "12,5 °C" in svg and "7,0 °C" in svg  # axis top (peak + 1) and limit, French commas
    assert 'class="limit"' in svg
    assert "Chambre &lt;1&gt;" in svg  # names are escaped


def test_no_readings_draws_the_frame_and_limit_only() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    svg = svg_chart([], start, start + timedelta(days=1), 4.0, "en", "Room")
    assert "polyline" not in svg and 'class="limit"' in svg and "4.0 °C" in svg


def test_only_the_temperature_is_drawn_not_the_door_or_the_battery() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = []
    for m in range(60):
        t = start + timedelta(minutes=m)
        rows.append(PlaceReading("cr1", "air", t, 3 * m, 4.0, 4.0, None, None, True))
        rows.append(PlaceReading("cr1", "battery", t, 3 * m + 1, 12.6, 12.6, None, None, True))
        rows.append(PlaceReading("cr1", "door", t, 3 * m + 2, 0.0, 0.0, None, None, True))
    svg = svg_chart(rows, start, start + timedelta(hours=1), 7.0, "fr", "Chambre")
    assert "13,6 °C" not in svg and "-1,0 °C" not in svg  # no axis stretched to 12.6 V or 0
    assert "3,0 °C" in svg and "8,0 °C" in svg  # air 4 °C and the 7 °C limit, ± 1
    # With a product simulant the line is the product (as the current value shown).
    product = [PlaceReading("cr1", "product", start, 999, 2.0, 2.0, None, None, True)]
    assert "1,0 °C" in svg_chart(rows + product, start, start + timedelta(hours=1), 7.0, "fr", "C")
