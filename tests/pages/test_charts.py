"""The server-side SVG chart: a week of minute readings stays small and keeps the peak."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from server.pages.charts import WIDTH, svg_chart
from server.placereadings import PlaceReading


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
