"""Charts for the PDF documents, drawn with reportlab graphics (vector, no browser, no CDN):
one panel per kind of channel, as coldchain.protocol defines them (`TEMPERATURE_CHANNELS`,
`EVENT_CHANNELS`, each channel's unit in `CHANNELS`):

- temperatures (air, product) on the °C axis, with the limit in force as a red step line,
  its transport tolerance dotted above it, readings beyond the limit shaded red and
  tolerated transport rises shaded amber;
- a door (an event channel: 1 = open) as shaded bands over its open periods;
- every other channel (humidity, battery voltage) in its own small panel with its own
  unit, never on the °C axis;
- a silence as a break in the lines and a grey band naming its cause (the probe sent
  nothing; offline 30 min or more; readings that arrived after the previous version was
  sealed).

A summary draws buckets (an hour, a day): the min–max envelope and the mean line. Every
text comes from the `records` catalogue (server/records/wording.py) and goes through
pdfkit.printable. The shapes say what they draw (`Panel.unit`, `Trace.channel`), so
tests/records can check which axis each series is on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.attrmap import AttrMap, AttrMapValue
from reportlab.lib.validators import isString
from reportlab.pdfbase.pdfmetrics import stringWidth

from alerts.judgement import Bounds, Level, judge
from coldchain import clock
from coldchain.protocol import CHANNELS, EVENT_CHANNELS, TEMPERATURE_CHANNELS
from server.records.pdfkit import BOLD, FONT, printable
from server.records.wording import Words

WIDTH = 500
LEFT, RIGHT = 44, 8
TITLE_H, TEMPERATURE_H, SMALL_H, PANEL_GAP, AXIS_H, LEGEND_ROW = 16, 140, 38, 12, 12, 10
CHANNEL_COLOURS = {
    "air": colors.HexColor("#1f5fa8"),
    "product": colors.HexColor("#2e8b57"),
    "humidity": colors.HexColor("#00838f"),
    "battery": colors.HexColor("#6a3d9a"),
}
LIMIT_COLOUR = colors.red
TOLERANCE_COLOUR = colors.HexColor("#d08000")
# Bands: what they mark, their colour and their words (records.po).
DOOR, BEYOND, TOLERATED, SILENT, OFFLINE, LATE = (
    "door",
    "beyond",
    "tolerated",
    "silent",
    "offline",
    "late",
)
BAND_COLOURS = {
    DOOR: colors.Color(0.35, 0.55, 0.95, alpha=0.22),
    BEYOND: colors.Color(0.9, 0.2, 0.2, alpha=0.25),
    TOLERATED: colors.Color(1.0, 0.7, 0.0, alpha=0.35),
    SILENT: colors.Color(0.5, 0.5, 0.5, alpha=0.18),
    OFFLINE: colors.Color(0.3, 0.3, 0.3, alpha=0.32),
    LATE: colors.Color(0.2, 0.7, 0.3, alpha=0.22),
}
BAND_WORDS = {
    DOOR: "pdf_chart_door_open",
    BEYOND: "pdf_chart_beyond",
    TOLERATED: "pdf_chart_tolerated",
    SILENT: "pdf_chart_silent",
    OFFLINE: "pdf_chart_offline",
    LATE: "pdf_chart_late",
}
MAX_POINTS = 2000  # per line: more would not show at this width and only slows the PDF
HOUR_MS, DAY_MS = 3_600_000, 86_400_000


class Panel(Group):
    """One axis: `unit` is the unit of its values (°C, V, %RH: coldchain.protocol.CHANNELS),
    every Trace, Envelope and Mark in it is a series on that axis."""

    _attrMap = AttrMap(BASE=Group, unit=AttrMapValue(isString, desc="unit of the axis"))
    unit: str

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit


class Trace(PolyLine):
    """A run of one channel's line (the line breaks at each gap)."""

    _attrMap = AttrMap(BASE=PolyLine, channel=AttrMapValue(isString, desc="channel drawn"))
    channel: str

    def __init__(self, points: list[float], channel: str, **style: Any) -> None:
        super().__init__(points, **style)
        self.channel = channel


class Envelope(Polygon):
    """One bucket of a channel: a bar from its minimum to its maximum."""

    _attrMap = AttrMap(BASE=Polygon, channel=AttrMapValue(isString, desc="channel drawn"))
    channel: str

    def __init__(self, points: list[float], channel: str, **style: Any) -> None:
        super().__init__(points, **style)
        self.channel = channel


class Mark(Circle):
    """A lone point of one channel (a bucket or reading with no neighbour to join)."""

    _attrMap = AttrMap(BASE=Circle, channel=AttrMapValue(isString, desc="channel drawn"))
    channel: str

    def __init__(self, x: float, y: float, r: float, channel: str, **style: Any) -> None:
        super().__init__(x, y, r, **style)
        self.channel = channel


@dataclass(frozen=True)
class Limit:
    from_ms: int
    to_ms: int
    max_c: float | None
    min_c: float | None
    tolerance_c: float | None = None  # transport tolerance above max_c (frozen food)


@dataclass(frozen=True)
class Series:
    """One channel's points: readings, or the means of buckets (of `bucket_ms`, an hour or
    a day) with their `envelope` (bucket middle, min, max), drawn as a bar from the min to
    the max. Two points more than `max_step_ms` apart are not joined: a gap."""

    channel: str
    points: Sequence[tuple[int, float]]
    envelope: Sequence[tuple[int, float, float]] = ()
    max_step_ms: float | None = None
    bucket_ms: int = HOUR_MS


@dataclass(frozen=True)
class Band:
    from_ms: int
    to_ms: int
    kind: str  # DOOR, BEYOND, TOLERATED, SILENT, OFFLINE, LATE


@dataclass
class _Axis:
    """Time (x) of the whole chart, value (y) of one panel."""

    t0: int
    t1: int
    v0: float = 0.0
    v1: float = 1.0
    bottom: float = 0.0
    height: float = 1.0
    ticks: list[float] = field(default_factory=list)

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / max(self.t1 - self.t0, 1) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return self.bottom + (v - self.v0) / (self.v1 - self.v0) * self.height


def kind_of(channel: str) -> str:
    """'temperature', 'event' (a door) or 'measure' (its own unit): coldchain.protocol."""
    if channel in TEMPERATURE_CHANNELS:
        return "temperature"
    if channel in EVENT_CHANNELS:
        return "event"
    return "measure"


def unit_of(channel: str) -> str:
    spec = CHANNELS.get(channel)
    return spec.unit if spec is not None else ""


def _thin(points: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep every extreme: per bucket the min and the max (so a peak never disappears)."""
    if len(points) <= MAX_POINTS:
        return list(points)
    size = len(points) * 2 // MAX_POINTS + 1
    out: list[tuple[int, float]] = []
    for i in range(0, len(points), size):
        bucket = points[i : i + size]
        low, high = min(bucket, key=lambda p: p[1]), max(bucket, key=lambda p: p[1])
        out.extend(sorted({low, high}))
    return out


def _runs(times: Sequence[int], max_step_ms: float | None) -> list[tuple[int, int]]:
    """Index ranges [a, b) of the points joined into one line (a gap breaks it)."""
    runs, start = [], 0
    for i in range(1, len(times)):
        if max_step_ms is not None and times[i] - times[i - 1] > max_step_ms:
            runs.append((start, i))
            start = i
    if times:
        runs.append((start, len(times)))
    return runs


def _nice_step(span: float, most: int) -> float:
    raw = span / max(most, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude * (1 + 1e-9):  # 0.2000000001 is 0.2
            return factor * magnitude
    return 10 * magnitude


def _value_axis(values: Iterable[float], most: int) -> tuple[float, float, list[float]]:
    """The axis' range (the values with a margin: none sits on the frame) and its ticks on
    round values."""
    found = list(values)
    low, high = min(found), max(found)
    if high - low < 1e-6:
        low, high = low - 1, high + 1
    step = _nice_step(high - low, most)
    margin = (high - low) * 0.08
    v0, v1 = low - margin, high + margin
    first = math.ceil(v0 / step - 1e-9)
    ticks = [(first + i) * step for i in range(int((v1 - first * step) / step + 1e-9) + 1)]
    return v0, v1, [round(t, 6) for t in ticks]


TIME_STEPS_MS = [m * 60_000 for m in (15, 30, 60, 120, 180, 360, 720)] + [
    d * DAY_MS for d in (1, 2, 7, 14, 30)
]


def time_ticks(t0: int, t1: int, most: int = 9) -> list[tuple[int, str]]:
    """Ticks on round local times (hours, or local midnights) with their labels."""
    zone = clock.zone()
    span = max(t1 - t0, 1)
    step = next((s for s in TIME_STEPS_MS if span / s <= most), TIME_STEPS_MS[-1])
    out: list[tuple[int, str]] = []
    if step < DAY_MS:
        first = datetime.fromtimestamp(t0 / 1000, UTC).replace(minute=0, second=0, microsecond=0)
        at = int(first.timestamp() * 1000)
        while at <= t1:
            local = datetime.fromtimestamp(at / 1000, UTC).astimezone(zone)
            minutes = local.hour * 60 + local.minute
            if at >= t0 and minutes % (step // 60_000) == 0:
                midnight = minutes == 0 and span > DAY_MS + 2 * HOUR_MS
                out.append((at, local.strftime("%d/%m" if midnight else "%H:%M")))
            at += min(step, HOUR_MS) if step >= HOUR_MS else step
        return out
    day = clock.today(datetime.fromtimestamp(t0 / 1000, UTC))
    days = step // DAY_MS
    while True:
        at = int(clock.day_start(day).timestamp() * 1000)
        if at > t1:
            return out
        if at >= t0:
            out.append((at, clock.local(datetime.fromtimestamp(at / 1000, UTC)).strftime("%d/%m")))
        day += timedelta(days=days)


def chart(
    title: str,
    series: Sequence[Series],
    words: Words,
    *,
    limits: Sequence[Limit] = (),
    bands: Sequence[Band] = (),
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> Drawing:
    """The chart of `series` over [start_ms, end_ms] (default: the points' span): a °C
    panel for the temperature channels with `limits`, a small panel per other measured
    channel, `bands` shaded (excursions on the °C panel; doors and gaps across all)."""
    drawn = [s for s in series if s.points and kind_of(s.channel) != "event"]
    times = [t for s in drawn for t, _ in s.points]
    times += [b for band in bands for b in (band.from_ms, band.to_ms)]
    t0 = start_ms if start_ms is not None else min(times, default=0)
    t1 = end_ms if end_ms is not None else max(times, default=0)
    temperature = [s for s in drawn if kind_of(s.channel) == "temperature"]
    others: dict[str, list[Series]] = {}
    for s in drawn:
        if kind_of(s.channel) == "measure":
            others.setdefault(s.channel, []).append(s)
    panels: list[tuple[str, list[Series]]] = []
    if temperature or (limits and drawn):
        panels.append(("°C", temperature))
    panels += [(unit_of(channel), items) for channel, items in sorted(others.items())]
    if not panels or t1 <= t0:
        drawing = Drawing(WIDTH, TITLE_H + 30)
        drawing.add(_text(LEFT, TITLE_H + 16, title, 9, bold=True))
        drawing.add(_text(LEFT, 12, words("pdf_chart_no_reading"), 9))
        return drawing
    heights = [TEMPERATURE_H if unit == "°C" else SMALL_H for unit, _ in panels]
    legend = _legend(words, series, limits, bands, panels)
    rows = _legend_rows(legend)
    height = TITLE_H + sum(heights) + PANEL_GAP * (len(panels) - 1) + AXIS_H + 4
    height += LEGEND_ROW * len(rows) + 2
    drawing = Drawing(WIDTH, height)
    drawing.add(_text(LEFT, height - 11, title, 9, bold=True))
    top = height - TITLE_H
    ticks = time_ticks(t0, t1)
    axes: list[_Axis] = []
    for (unit, items), panel_h in zip(panels, heights, strict=True):
        axis = _Axis(t0, t1, bottom=top - panel_h, height=panel_h)
        values = [v for s in items for _, v in s.points]
        values += [v for s in items for _, lo, hi in s.envelope for v in (lo, hi)]
        if unit == "°C":
            for lim in limits:
                if lim.from_ms < t1 and lim.to_ms > t0:
                    values += [v for v in (lim.max_c, lim.min_c) if v is not None]
                    if lim.max_c is not None and lim.tolerance_c is not None:
                        values.append(lim.max_c + lim.tolerance_c)
        axis.v0, axis.v1, axis.ticks = _value_axis(values or [0.0], 5 if unit == "°C" else 2)
        panel = Panel(unit=unit)
        _frame(panel, axis, ticks, words, unit, items)
        for band in bands:
            if band.kind in (BEYOND, TOLERATED) and unit != "°C":
                continue
            _band(panel, axis, band)
        if unit == "°C":
            _limits(panel, axis, limits)
        for s in items:
            _series(panel, axis, s)
        drawing.add(panel)
        axes.append(axis)
        top -= panel_h + PANEL_GAP
    bottom_axis = axes[-1]
    for at, label in ticks:
        drawing.add(_text(bottom_axis.x(at), bottom_axis.bottom - 9, label, 6, anchor="middle"))
    _draw_legend(drawing, rows, bottom_axis.bottom - AXIS_H - 6)
    return drawing


def _text(
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    bold: bool = False,
    anchor: Literal["start", "middle", "end"] = "start",
    colour: colors.Color = colors.black,
) -> String:
    return String(
        x,
        y,
        printable(text),
        fontName=BOLD if bold else FONT,
        fontSize=size,
        textAnchor=anchor,
        fillColor=colour,
    )


def _frame(
    panel: Panel,
    axis: _Axis,
    ticks: Sequence[tuple[int, str]],
    words: Words,
    unit: str,
    items: Sequence[Series],
) -> None:
    plot_w = WIDTH - LEFT - RIGHT
    panel.add(_rect(LEFT, axis.bottom, plot_w, axis.height, None, colors.grey))
    for at, _ in ticks:
        panel.add(
            Line(
                axis.x(at),
                axis.bottom,
                axis.x(at),
                axis.bottom + axis.height,
                strokeColor=colors.lightgrey,
                strokeWidth=0.3,
            )
        )
    digits = next(
        (d for d in range(3) if all(abs(v * 10**d - round(v * 10**d)) < 1e-6 for v in axis.ticks)),
        3,
    )
    for value in axis.ticks:
        panel.add(
            Line(
                LEFT,
                axis.y(value),
                LEFT + plot_w,
                axis.y(value),
                strokeColor=colors.lightgrey,
                strokeWidth=0.3,
            )
        )
        panel.add(_text(LEFT - 3, axis.y(value) - 2, words.number(value, digits), 6, anchor="end"))
    if unit == "°C":
        panel.add(_text(4, axis.bottom + axis.height - 6, "°C", 7))
        return
    channel = items[0].channel
    name = f"{words.name(channel)} ({words.unit(channel)})"
    panel.add(_text(LEFT + 2, axis.bottom + axis.height + 2.5, name, 6.5))  # above its frame


def _band(panel: Panel, axis: _Axis, band: Band) -> None:
    a, b = max(band.from_ms, axis.t0), min(band.to_ms, axis.t1)
    if b < a:
        return
    x0 = axis.x(a)
    panel.add(
        _rect(x0, axis.bottom, max(axis.x(b) - x0, 0.8), axis.height, BAND_COLOURS[band.kind], None)
    )


def _limits(panel: Panel, axis: _Axis, limits: Sequence[Limit]) -> None:
    """The limit in force as a step line (max and min), its tolerance dotted above."""
    shown = sorted(
        (
            Limit(
                max(lim.from_ms, axis.t0),
                min(lim.to_ms, axis.t1),
                lim.max_c,
                lim.min_c,
                lim.tolerance_c,
            )
            for lim in limits
            if lim.from_ms < axis.t1 and lim.to_ms > axis.t0
        ),
        key=lambda lim: lim.from_ms,
    )
    for bound in ("max_c", "min_c"):
        path: list[float] = []
        last_end: int | None = None
        for lim in shown:
            value = getattr(lim, bound)
            if value is None or (last_end is not None and lim.from_ms != last_end):
                _step_line(panel, path)
                path = []
            if value is not None:
                path += [axis.x(lim.from_ms), axis.y(value), axis.x(lim.to_ms), axis.y(value)]
            last_end = lim.to_ms
        _step_line(panel, path)
    for lim in shown:
        if lim.max_c is not None and lim.tolerance_c is not None:
            ceiling = axis.y(lim.max_c + lim.tolerance_c)
            panel.add(
                Line(
                    axis.x(lim.from_ms),
                    ceiling,
                    axis.x(lim.to_ms),
                    ceiling,
                    strokeColor=TOLERANCE_COLOUR,
                    strokeWidth=0.9,
                    strokeDashArray=[1, 2],
                )
            )


def _step_line(panel: Panel, path: list[float]) -> None:
    if len(path) >= 4:
        panel.add(PolyLine(path, strokeColor=LIMIT_COLOUR, strokeWidth=1.2, strokeDashArray=[4, 2]))


def _series(panel: Panel, axis: _Axis, s: Series) -> None:
    colour = CHANNEL_COLOURS.get(s.channel, colors.black)
    fill = colors.Color(colour.red, colour.green, colour.blue, alpha=0.25)
    for t, low, high in s.envelope:
        x0, x1 = axis.x(t - s.bucket_ms * 0.35), axis.x(t + s.bucket_ms * 0.35)
        y0, y1 = axis.y(low), max(axis.y(high), axis.y(low) + 0.6)  # a flat bucket shows
        panel.add(
            Envelope(
                [x0, y0, x1, y0, x1, y1, x0, y1],
                channel=s.channel,
                fillColor=fill,
                strokeColor=None,
            )
        )
    points = sorted(s.points)
    for a, b in _runs([t for t, _ in points], s.max_step_ms):
        run = _thin(points[a:b])
        if len(run) == 1:
            t, v = run[0]
            panel.add(
                Mark(
                    axis.x(t), axis.y(v), 1.6, channel=s.channel, fillColor=colour, strokeColor=None
                )
            )
            continue
        flat = [c for t, v in run for c in (axis.x(t), axis.y(v))]
        panel.add(Trace(flat, channel=s.channel, strokeColor=colour, strokeWidth=0.8))


def _legend(
    words: Words,
    series: Sequence[Series],
    limits: Sequence[Limit],
    bands: Sequence[Band],
    panels: Sequence[tuple[str, list[Series]]],
) -> list[tuple[str, str, colors.Color]]:
    """(swatch kind, text, colour) per thing drawn: channels, limit, tolerance, bands."""
    out: list[tuple[str, str, colors.Color]] = []
    shown = {s.channel for _, items in panels for s in items}
    for channel in sorted(shown, key=lambda c: (kind_of(c) != "temperature", c)):
        text = words.name(channel)
        if any(s.envelope for s in series if s.channel == channel):
            text = words("pdf_chart_envelope", channel=text)
        out.append(("line", text, CHANNEL_COLOURS.get(channel, colors.black)))
    if any(p[0] == "°C" for p in panels):
        if any(lim.max_c is not None or lim.min_c is not None for lim in limits):
            out.append(("dash", words("pdf_chart_limit"), LIMIT_COLOUR))
        if any(lim.tolerance_c is not None and lim.max_c is not None for lim in limits):
            out.append(("dot", words("pdf_chart_tolerance"), TOLERANCE_COLOUR))
    for kind in (BEYOND, TOLERATED, DOOR, SILENT, OFFLINE, LATE):
        if any(band.kind == kind for band in bands):
            out.append(("band", words(BAND_WORDS[kind]), BAND_COLOURS[kind]))
    return out


def _legend_rows(
    legend: list[tuple[str, str, colors.Color]],
) -> list[list[tuple[str, str, colors.Color]]]:
    rows: list[list[tuple[str, str, colors.Color]]] = [[]]
    width = 0.0
    for entry in legend:
        w = 18 + stringWidth(printable(entry[1]), FONT, 6.5) + 10
        if rows[-1] and width + w > WIDTH - LEFT:
            rows.append([])
            width = 0.0
        rows[-1].append(entry)
        width += w
    return [row for row in rows if row]


def _draw_legend(
    drawing: Drawing, rows: list[list[tuple[str, str, colors.Color]]], y: float
) -> None:
    for row in rows:
        x = float(LEFT)
        for kind, text, colour in row:
            if kind == "band":
                drawing.add(_rect(x, y - 1, 14, 6, colour, None))
            else:
                dash = {"dash": [4, 2], "dot": [1, 2]}.get(kind)
                drawing.add(
                    Line(
                        x,
                        y + 2,
                        x + 14,
                        y + 2,
                        strokeColor=colour,
                        strokeWidth=1.2,
                        strokeDashArray=dash or [],
                    )
                )
            drawing.add(_text(x + 18, y, text, 6.5))
            x += 18 + stringWidth(printable(text), FONT, 6.5) + 10
        y -= LEGEND_ROW


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


def judged_bands(
    points: Sequence[tuple[int, float]], limits: Sequence[Limit], max_step_ms: int
) -> list[Band]:
    """Bands over the readings beyond the limit in force (BEYOND) and over those above it
    but within its transport tolerance (TOLERATED), as alerts/judgement.py judges them; a
    reading stands until the next one, at most `max_step_ms`."""
    bands: list[Band] = []
    if not points:
        return bands
    found = [(lim, Bounds(lim.max_c, lim.min_c, tolerance_c=lim.tolerance_c)) for lim in limits]
    for (t, v), nxt in zip(points, [*points[1:], None], strict=True):
        bounds = next((b for lim, b in found if lim.from_ms <= t < lim.to_ms), None)
        if bounds is None:
            continue
        judged = judge(v, bounds, in_transport=True)
        if not judged.beyond:
            continue
        kind = TOLERATED if judged.level is Level.TOLERATED and not judged.below else BEYOND
        end = max(t + min((nxt[0] - t) if nxt else 0, max_step_ms), t + 1)
        if bands and bands[-1].kind == kind and bands[-1].to_ms >= t:
            bands[-1] = Band(bands[-1].from_ms, max(bands[-1].to_ms, end), kind)
        else:
            bands.append(Band(t, end, kind))
    return bands


def open_periods(events: Sequence[tuple[int, float]], until_ms: int) -> list[tuple[int, int]]:
    """The open periods of an event channel (a door: 1 = open, 0 = closed) from its events
    in time order; a door still open at the end is open until `until_ms`."""
    periods: list[tuple[int, int]] = []
    opened: int | None = None
    for t, value in events:
        if value >= 0.5 and opened is None:
            opened = t
        elif value < 0.5 and opened is not None:
            periods.append((opened, t))
            opened = None
    if opened is not None and until_ms > opened:
        periods.append((opened, until_ms))
    return periods


def gap_bands(gaps: Sequence[Mapping[str, Any]]) -> list[tuple[Band, list[str]]]:
    """The gaps of the sampled channels (an event channel's silence is no gap), overlapping
    ones merged, each with the channels it silenced: OFFLINE when 30 min or more."""
    spans = sorted(
        (g["from_ms"], g["to_ms"], g["channel"], bool(g["offline"]))
        for g in gaps
        if g["channel"] not in EVENT_CHANNELS
    )
    merged: list[list[Any]] = []
    for a, b, channel, offline in spans:
        if merged and a <= merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], b)
            last[3] = last[3] or offline
            if channel not in last[2]:
                last[2].append(channel)
        else:
            merged.append([a, b, [channel], offline])
    return [
        (Band(a, b, OFFLINE if offline else SILENT), channels) for a, b, channels, offline in merged
    ]
