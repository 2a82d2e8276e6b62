"""A zone's (or a cold room's) temperature chart for the PDFs, drawn with reportlab
graphics (vector, no browser, no CDN): one line per channel, the limit in force as a red
step line, excursions shaded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors

from alerts.judgement import Bounds, judge
from coldchain import clock

WIDTH, HEIGHT = 480, 190
LEFT, BOTTOM, RIGHT, TOP = 40, 30, 10, 20
CHANNEL_COLOURS = {
    "air": colors.HexColor("#1f5fa8"),
    "product": colors.HexColor("#2e8b57"),
    "air max": colors.HexColor("#c0562a"),
    "air min": colors.HexColor("#1f5fa8"),
    "product max": colors.HexColor("#8b4513"),
    "product min": colors.HexColor("#2e8b57"),
}
EXCURSION = colors.Color(0.9, 0.2, 0.2, alpha=0.25)
MAX_POINTS = 2000  # per line: more would not show at this width and only slows the PDF


@dataclass(frozen=True)
class Limit:
    from_ms: int
    to_ms: int
    max_c: float | None
    min_c: float | None


def _thin(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep every extreme: per bucket the min and the max (so a peak never disappears)."""
    if len(points) <= MAX_POINTS:
        return points
    size = len(points) * 2 // MAX_POINTS + 1
    out: list[tuple[int, float]] = []
    for i in range(0, len(points), size):
        bucket = points[i : i + size]
        low, high = min(bucket, key=lambda p: p[1]), max(bucket, key=lambda p: p[1])
        out.extend(sorted({low, high}))
    return out


def chart(
    title: str,
    lines: dict[str, list[tuple[int, float]]],
    limits: Sequence[Limit],
    excursions: Sequence[tuple[int, int]],
) -> Drawing:
    drawing = Drawing(WIDTH, HEIGHT)
    drawing.add(String(LEFT, HEIGHT - 12, title, fontName="Helvetica-Bold", fontSize=9))
    values = [v for pts in lines.values() for _, v in pts]
    values += [x for lim in limits for x in (lim.max_c, lim.min_c) if x is not None]
    times = [t for pts in lines.values() for t, _ in pts]  # the x axis spans the readings
    if not values or not times:
        drawing.add(String(LEFT, HEIGHT / 2, "Aucune mesure.", fontName="Helvetica", fontSize=9))
        return drawing
    t0, t1 = min(times), max(times)
    limits = [
        Limit(max(lim.from_ms, t0), min(lim.to_ms, t1), lim.max_c, lim.min_c)
        for lim in limits
        if lim.from_ms < t1 and lim.to_ms > t0
    ]
    v0, v1 = min(values) - 1.0, max(values) + 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM - TOP

    def x(t: int) -> float:
        return LEFT + (t - t0) / max(t1 - t0, 1) * plot_w

    def y(v: float) -> float:
        return BOTTOM + (v - v0) / (v1 - v0) * plot_h

    drawing.add(_rect(LEFT, BOTTOM, plot_w, plot_h, None, colors.grey))
    for start, end in excursions:
        drawing.add(_rect(x(start), BOTTOM, max(x(end) - x(start), 0.8), plot_h, EXCURSION, None))
    for i in range(5):  # y grid and labels
        value = v0 + (v1 - v0) * i / 4
        drawing.add(
            Line(
                LEFT,
                y(value),
                LEFT + plot_w,
                y(value),
                strokeColor=colors.lightgrey,
                strokeWidth=0.3,
            )
        )
        drawing.add(
            String(
                LEFT - 4,
                y(value) - 3,
                f"{value:.1f}".replace(".", ","),
                fontName="Helvetica",
                fontSize=6,
                textAnchor="end",
            )
        )
    for i in range(5):  # x labels, Brussels time
        t = t0 + (t1 - t0) * i // 4
        label = datetime.fromtimestamp(t / 1000, UTC).astimezone(clock.zone())
        text = label.strftime("%H:%M") if t1 - t0 <= 86_400_000 * 2 else label.strftime("%d/%m")
        drawing.add(
            String(x(t), BOTTOM - 10, text, fontName="Helvetica", fontSize=6, textAnchor="middle")
        )
    drawing.add(String(4, BOTTOM + plot_h / 2, "°C", fontName="Helvetica", fontSize=7))
    for bound in ("max_c", "min_c"):
        for lim in limits:
            value = getattr(lim, bound)
            if value is not None:
                drawing.add(
                    Line(
                        x(lim.from_ms),
                        y(value),
                        x(lim.to_ms),
                        y(value),
                        strokeColor=colors.red,
                        strokeWidth=1.2,
                        strokeDashArray=[4, 2],
                    )
                )
    for channel, pts in sorted(lines.items()):
        thinned = _thin(pts)
        if len(thinned) >= 2:
            flat = [c for t, v in thinned for c in (x(t), y(v))]
            drawing.add(
                PolyLine(
                    flat, strokeColor=CHANNEL_COLOURS.get(channel, colors.black), strokeWidth=0.8
                )
            )
    legend_x = LEFT + plot_w
    for channel in sorted(lines, reverse=True):
        drawing.add(
            String(
                legend_x,
                HEIGHT - 12,
                f"— {channel}",
                fontName="Helvetica",
                fontSize=7,
                fillColor=CHANNEL_COLOURS.get(channel, colors.black),
                textAnchor="end",
            )
        )
        legend_x -= 50
    drawing.add(
        String(
            legend_x,
            HEIGHT - 12,
            "- - limite",
            fontName="Helvetica",
            fontSize=7,
            fillColor=colors.red,
            textAnchor="end",
        )
    )
    return drawing


def _rect(
    x: float, y: float, w: float, h: float, fill: colors.Color | None, stroke: colors.Color | None
) -> Rect:
    rect = Rect(x, y, w, h)
    rect.fillColor = fill
    rect.strokeColor = stroke
    rect.strokeWidth = 0.5
    return rect


def excursion_spans(
    points: list[tuple[int, float]], limits: Sequence[Limit], max_step_ms: int
) -> list[tuple[int, int]]:
    """Time spans where the readings are beyond the limit in force (for shading), as
    alerts/judgement.py judges them."""
    spans: list[tuple[int, int]] = []
    if not points:  # a zone without readings: nothing to shade (its data-quality note says so)
        return spans
    bounds = [(lim, Bounds(lim.max_c, lim.min_c)) for lim in limits]
    for (t, v), nxt in zip(points, [*points[1:], None], strict=True):
        found = next((b for lim, b in bounds if lim.from_ms <= t < lim.to_ms), None)
        # Shaded: every reading beyond the limit, within a transport tolerance or not.
        if found is None or not judge(v, found, in_transport=True).beyond:
            continue
        end = t + min((nxt[0] - t) if nxt else 0, max_step_ms)
        if spans and spans[-1][1] >= t:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((t, max(end, t + 1)))
    return spans
