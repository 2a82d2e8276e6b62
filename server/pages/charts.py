"""Temperature charts as inline SVG drawn on the server (no JavaScript, no CDN):
the calibrated readings as a line, the limit in force as a dashed line labelled in text
(a step line when it changed over the span, e.g. a lot dropped), an excursion shaded.
The PDF records draw theirs with reportlab (server/records/chart.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from server.domain.place_readings import PlaceReading
from server.pages.i18n import celsius, local_time

WIDTH, HEIGHT, PAD_X, PAD_Y = 600, 200, 48, 20


@dataclass(frozen=True)
class LimitStep:
    """The limit in force from `start` until `end` (None: no bound on that side)."""

    start: datetime
    end: datetime
    max_c: float | None
    min_c: float | None


def thin(
    readings: Sequence[PlaceReading], start: datetime, span_s: float
) -> list[tuple[datetime, float]]:
    """At most the lowest and the highest value per pixel column, in time order: a week
    of minute readings stays a small page, and no excursion peak is smoothed away."""
    columns: dict[int, list[tuple[datetime, float]]] = {}
    for r in readings:
        if r.value is not None:
            column = int((r.time - start).total_seconds() / span_s * (WIDTH - 2 * PAD_X))
            columns.setdefault(column, []).append((r.time, r.value))
    out: list[tuple[datetime, float]] = []
    for column in sorted(columns):
        values = columns[column]
        low = min(values, key=lambda p: p[1])
        high = max(values, key=lambda p: p[1])
        out.extend(sorted({low, high}))
    return out


def temperature_line(readings: Sequence[PlaceReading]) -> list[PlaceReading]:
    """The one temperature channel drawn: the product simulant if the place has one, else
    the air (as the page's current value). Door events and the battery are not temperatures."""
    present = {r.channel for r in readings}
    chosen = next((c for c in ("product", "air") if c in present), None)
    return [r for r in readings if r.channel == chosen]


def svg_chart(
    readings: Sequence[PlaceReading],
    start: datetime,
    end: datetime,
    limit_c: float | None,
    lang: str,
    title: str,
    *,
    steps: Sequence[LimitStep] = (),
    shade: tuple[datetime, datetime] | None = None,
) -> str:
    """The chart of `readings` over [start, end]: the limit `limit_c` as one dashed line,
    or, given `steps`, the limit in force over time (max and min, each value in text where
    it starts); `shade` marks a span (an excursion)."""
    readings = temperature_line(readings)
    values = [r.value for r in readings if r.value is not None]
    if not steps and limit_c is not None:
        steps = [LimitStep(start, end, limit_c, None)]
    steps = [s for s in steps if s.start < end and s.end > start]
    bounds = values + [b for s in steps for b in (s.max_c, s.min_c) if b is not None]
    low, high = (min(bounds) - 1.0, max(bounds) + 1.0) if bounds else (0.0, 10.0)
    span_t = (end - start).total_seconds() or 1.0

    def x(t: datetime) -> float:
        t = min(max(t, start), end)
        return PAD_X + (WIDTH - 2 * PAD_X) * (t - start).total_seconds() / span_t

    def y(v: float) -> float:
        return HEIGHT - PAD_Y - (HEIGHT - 2 * PAD_Y) * (v - low) / (high - low)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if shade is not None and shade[0] < end and shade[1] > start:
        a, b = x(shade[0]), x(shade[1])
        parts.append(
            f'<rect x="{a:.1f}" y="{PAD_Y}" width="{max(b - a, 1.0):.1f}" '
            f'height="{HEIGHT - 2 * PAD_Y}" class="excursion"/>'
        )
    parts += [
        f'<rect x="{PAD_X}" y="{PAD_Y}" width="{WIDTH - 2 * PAD_X}" '
        f'height="{HEIGHT - 2 * PAD_Y}" class="frame"/>',
        f'<text x="2" y="{PAD_Y + 4}" class="axis">{escape(celsius(high, lang))}</text>',
        f'<text x="2" y="{HEIGHT - PAD_Y}" class="axis">{escape(celsius(low, lang))}</text>',
        f'<text x="{PAD_X}" y="{HEIGHT - 4}" class="axis">{escape(local_time(start, lang))}</text>',
        f'<text x="{WIDTH - PAD_X}" y="{HEIGHT - 4}" class="axis" text-anchor="end">'
        f"{escape(local_time(end, lang))}</text>",
    ]
    for side in ("max_c", "min_c"):
        previous: float | None = None
        for step in steps:
            value = getattr(step, side)
            if value is None:
                previous = None
                continue
            ly, x1, x2 = y(value), x(step.start), x(step.end)
            parts.append(
                f'<line x1="{x1:.1f}" y1="{ly:.1f}" x2="{x2:.1f}" y2="{ly:.1f}" class="limit"/>'
            )
            if previous is not None and previous != value:  # the step itself
                parts.append(
                    f'<line x1="{x1:.1f}" y1="{y(previous):.1f}" x2="{x1:.1f}" y2="{ly:.1f}" '
                    f'class="limit"/>'
                )
            if value != previous:  # each value in text: in the margin, or where it starts
                if len(steps) == 1:
                    where = f'x="{WIDTH - 1}" y="{ly + 4:.1f}" text-anchor="end"'
                else:
                    where = f'x="{x1 + 2:.1f}" y="{ly - 3:.1f}"'
                parts.append(f'<text {where} class="axis">{escape(celsius(value, lang))}</text>')
            previous = value
    points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in thin(readings, start, span_t))
    if points:
        parts.append(f'<polyline points="{points}" class="series"/>')
    parts.append("</svg>")
    return "".join(parts)
