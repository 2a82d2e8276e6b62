"""One location of the inspection export (a van zone or a cold room): its readings as CSV,
streamed day by day, and a PDF summary: hour by hour for a one-day period, day by day
beyond; temperatures against the limit, the door's openings, the other channels in their
own unit, the silences, excursions and alerts (words: the `records` catalogue,
server/records/wording.py)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import IO, Any, BinaryIO

from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import Flowable
from sqlalchemy.orm import Session

from alerts.judgement import Bounds, judge
from coldchain import clock
from coldchain.protocol import EVENT_CHANNELS, TEMPERATURE_CHANNELS
from coldchain.readingstore.base import ReadingStore
from server.core.access import Interval
from server.domain.place_readings import Place, series, to_ms
from server.records import alerts_log
from server.records.chart import (
    BEYOND,
    DAY_MS,
    DOOR,
    HOUR_MS,
    OFFLINE,
    Band,
    Limit,
    Series,
    chart,
    gap_bands,
    open_periods,
)
from server.records.document import GAP_MIN_MS, OFFLINE_MS, sealed_reading
from server.records.formats import READING_COLUMNS, reading_row, spreadsheet_writer
from server.records.pdfkit import H2, SMALL, TITLE, build, para, table
from server.records.verdict import MAX_STEP_MS, source_in
from server.records.wording import Words

GAP_SAMPLE = 50  # a channel's usual interval: the median of its first intervals


@dataclass
class Location:
    key: str  # file-name friendly
    label: str
    place: Place
    windows: list[Interval]
    limit: Mapping[str, Any] | None  # cold rooms: fixed limit; van zones: per lot (records)
    category: str | None


@dataclass
class Day:
    """A bucket of one channel's readings: a day (`day` its date) or an hour."""

    day: str
    n: int = 0
    low: float = float("inf")
    high: float = float("-inf")
    total: float = 0.0
    minutes_beyond: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.total += value


@dataclass
class Summary:
    """What the location's summary PDF says, gathered while its readings stream to the CSV:
    per day and per hour (by local calendar day; the hour as its UTC start, a local hour too)
    the sampled channels' min / max / mean; the event channels' events (a door); the
    silences of the sampled channels; the excursions of the temperature channels."""

    readings: int = 0
    days: dict[tuple[str, str], Day] = field(default_factory=dict)  # (day, channel)
    excursions: list[dict[str, Any]] = field(default_factory=list)
    start_ms: int | None = None  # the period, when known
    end_ms: int | None = None
    hours: dict[tuple[int, str], Day] = field(default_factory=dict)  # (hour start ms, channel)
    events: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # door: time, 0/1
    gaps: list[tuple[str, int, int]] = field(default_factory=list)  # channel, from, to
    _open: dict[str, dict[str, Any]] = field(default_factory=dict)
    _last: dict[str, tuple[int, bool]] = field(default_factory=dict)  # time, was beyond
    _seen: dict[str, int] = field(default_factory=dict)  # channel -> its last reading's time
    _steps: dict[str, list[int]] = field(default_factory=dict)  # its first intervals

    def add(
        self, channel: str, time_ms: int, value: float, day: str, limit: Mapping[str, Any] | None
    ) -> None:
        if channel in EVENT_CHANNELS:  # a door: its events, not a value to average
            self.events.setdefault(channel, []).append((time_ms, value))
            return
        self._silence(channel, time_ms)
        entry = self.days.get((day, channel))
        if entry is None:
            entry = self.days[(day, channel)] = Day(day)
        entry.add(value)
        hour_ms = time_ms - time_ms % HOUR_MS
        hour = self.hours.get((hour_ms, channel))
        if hour is None:
            hour = self.hours[(hour_ms, channel)] = Day(day)
        hour.add(value)
        if limit is None or channel not in TEMPERATURE_CHANNELS:
            return  # only a temperature is judged against the limit
        judged = judge(value, Bounds(limit["max_c"], limit["min_c"]), in_transport=False)
        above, below = judged.above, judged.below
        previous = self._last.get(channel)
        if previous is not None and previous[1]:  # the previous reading was beyond: it lasted
            lasted = min(time_ms - previous[0], MAX_STEP_MS) / 60_000
            entry.minutes_beyond += lasted
            hour.minutes_beyond += lasted
        self._last[channel] = (time_ms, above or below)
        current = self._open.get(channel)
        if above or below:
            if current is None:
                current = self._open[channel] = {
                    "channel": channel,
                    "from_ms": time_ms,
                    "peak": value,
                }
                self.excursions.append(current)
            current["to_ms"] = time_ms
            current["peak"] = max(current["peak"], value) if above else min(current["peak"], value)
        elif current is not None:
            current["to_ms"] = time_ms  # ends when a reading is back inside
            del self._open[channel]

    def _silence(self, channel: str, time_ms: int) -> None:
        """A gap as the sealed records count one (document.gap_threshold), from the
        channel's first intervals."""
        last = self._seen.get(channel)
        self._seen[channel] = time_ms
        if last is None or time_ms <= last:
            return
        steps = self._steps.setdefault(channel, [])
        if len(steps) < GAP_SAMPLE:
            steps.append(time_ms - last)
        if time_ms - last > max(GAP_MIN_MS, 3 * median(steps)):
            self.gaps.append((channel, last, time_ms))


def write_readings(
    session: Session,
    store: ReadingStore,
    location: Location,
    start: datetime,
    end: datetime,
    out: IO[bytes],
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Stream the location's calibrated readings (one day at a time) into `out` as CSV."""
    summary = Summary(start_ms=to_ms(start), end_ms=to_ms(end))  # the period, for the PDF
    text = io.StringIO()  # one day of CSV at a time, then into `out`
    writer = spreadsheet_writer(text)
    writer.writerow(READING_COLUMNS)
    day_start = start
    while day_start < end:
        local_day = day_start.astimezone(clock.zone())
        next_day = (
            local_day.replace(hour=0, minute=0, second=0, microsecond=0)
            + timedelta(days=1, hours=3)
        ).replace(hour=0)
        day_end = min(end, next_day.astimezone(start.tzinfo))
        day_label = local_day.strftime("%Y-%m-%d")
        rows = series(session, store, location.place, location.windows, day_start, day_end)
        for r in rows:
            writer.writerow(reading_row(*sealed_reading(r)))  # as a sealed record's CSV
            if r.value is not None:
                summary.add(r.channel, to_ms(r.time), r.value, day_label, location.limit)
        out.write(text.getvalue().encode())
        text.seek(0)
        text.truncate()
        summary.readings += len(rows)
        if progress is not None:
            progress(len(rows))
        day_start = day_end
    out.write(text.getvalue().encode())
    return summary


def bounds(limit: Mapping[str, Any], w: Words | None = None) -> str:
    w = w or Words()
    parts = []
    if limit["max_c"] is not None:
        parts.append(w("pdf_limit_max", value=w.celsius(limit["max_c"])))
    if limit["min_c"] is not None:
        parts.append(w("pdf_limit_min", value=w.celsius(limit["min_c"])))
    return ", ".join(parts) or w("pdf_limit_none")


def summary_pdf(
    location: Location,
    summary: Summary,
    alerts: list[dict[str, Any]],
    period: str,
    out: BinaryIO,
    lang: str = "fr",
) -> None:
    w = Words(lang)
    title = w("pdf_summary_title", place=location.label)
    story: list[Flowable] = [para(title, TITLE), para(w("pdf_summary_period", period=period))]
    if summary.start_ms is not None and summary.end_ms is not None:
        story.append(para(w.zone_note(summary.start_ms, summary.end_ms), SMALL))
    limit = location.limit
    if limit is not None:
        story.append(
            para(w("pdf_summary_limit", limit=bounds(limit, w), source=source_in(limit, w)))
        )
    else:
        story.append(para(w("pdf_summary_van_zone")))
    story.append(
        para(w.count(summary.readings, "pdf_summary_readings_one", "pdf_summary_readings_other"))
    )
    drawing, doors, gaps = summary_chart(location, summary, w)
    story.append(drawing)
    by_hour = hourly(summary)
    story += _temperature_table(summary, w, by_hour)
    story += _measure_table(summary, w)
    story += _door_table(doors, w)
    story += _gap_table(gaps, w)
    story.append(para(w("pdf_summary_excursions_heading"), H2))
    if limit is None:
        story.append(para(w("pdf_summary_excursions_van_zone"), SMALL))
    else:
        ex_rows = [
            (
                w.name(e["channel"]),
                w.time(e["from_ms"]),
                w.time(e["to_ms"]),
                w.number((e["to_ms"] - e["from_ms"]) / 60000, 0),
                w.measure(e["channel"], e["peak"]),
            )
            for e in summary.excursions
        ]
        story.append(
            table(
                [
                    w("pdf_col_channel"),
                    w("pdf_col_start"),
                    w("pdf_col_end"),
                    w("pdf_col_minutes"),
                    w("pdf_col_peak"),
                ],
                ex_rows or [(w("pdf_none_m"), "", "", "", "")],
                [30 * mm, 35 * mm, 35 * mm, 20 * mm, 25 * mm],
            )
        )
    story.append(para(w("pdf_alerts_heading"), H2))
    alert_rows = [
        (
            w.time(a["start_at"]),
            w.time(a["end_at"]) if a["end_at"] else w("pdf_alert_going_on"),
            w.name(a["severity"]),
            alerts_log.text(a, w),
            w("yes") if a["corrective_action"] else w("no"),
        )
        for a in alerts
    ]
    story.append(
        table(
            [
                w("pdf_col_start"),
                w("pdf_col_end"),
                w("pdf_col_severity"),
                w("pdf_col_alert"),
                w("pdf_col_action"),
            ],
            alert_rows or [(w("pdf_none_f"), "", "", "", "")],
            [28 * mm, 28 * mm, 22 * mm, 78 * mm, 22 * mm],
        )
    )
    footer = w("pdf_summary_footer", place=location.label, period=period)
    build(out, story, title, footer, w("pdf_page_number"))


def hourly(summary: Summary) -> bool:
    """Hour by hour for a period of one day (25 hours on a clock change), else day by day."""
    if summary.start_ms is not None and summary.end_ms is not None:
        return summary.end_ms - summary.start_ms <= 25 * HOUR_MS
    return len({day for day, _ in summary.days}) <= 1


def _day_ms(day: str) -> int:
    return to_ms(clock.day_start(date.fromisoformat(day)))


def summary_gaps(summary: Summary, windows: list[Interval]) -> list[tuple[Band, list[str]]]:
    """The silences of the sampled channels inside the times the viewer may see the place
    (`windows`: outside them a van zone's readings are not theirs, not missing), merged
    across channels, OFFLINE when 30 min or more."""
    spans = [(to_ms(lo), to_ms(hi) if hi is not None else None) for lo, hi in windows]

    def inside(a: int, b: int) -> bool:
        return not spans or any(lo <= a and (hi is None or b <= hi) for lo, hi in spans)

    return gap_bands(
        [
            {"channel": ch, "from_ms": a, "to_ms": b, "offline": b - a >= OFFLINE_MS}
            for ch, a, b in summary.gaps
            if inside(a, b)
        ]
    )


def summary_chart(
    location: Location, summary: Summary, w: Words
) -> tuple[Drawing, list[tuple[int, int]], list[tuple[Band, list[str]]]]:
    """The summary's chart (hourly for one day, daily beyond: each channel's min–max and
    mean; the temperatures with the limit; doors, excursions and silences as bands), the
    door's open periods and the silences."""
    by_hour = hourly(summary)
    size = HOUR_MS if by_hour else DAY_MS
    buckets: dict[str, list[tuple[int, Day]]] = {}
    if by_hour:
        for (hour_ms, channel), d in sorted(summary.hours.items()):
            buckets.setdefault(channel, []).append((hour_ms + size // 2, d))
    else:
        for (day, channel), d in sorted(summary.days.items()):
            buckets.setdefault(channel, []).append((_day_ms(day) + size // 2, d))
    series = [
        Series(
            channel,
            [(t, d.total / d.n) for t, d in rows],
            envelope=[(t, d.low, d.high) for t, d in rows],
            max_step_ms=size * 1.5,  # a bucket without readings breaks the line
            bucket_ms=size,
        )
        for channel, rows in sorted(buckets.items())
    ]
    times = [t for rows in buckets.values() for t, _ in rows]
    start = summary.start_ms if summary.start_ms is not None else min(times, default=0) - size
    end = summary.end_ms if summary.end_ms is not None else max(times, default=0) + size
    limit = location.limit
    limits = [Limit(start, end, limit["max_c"], limit["min_c"])] if limit else []
    doors = [
        period for events in summary.events.values() for period in open_periods(sorted(events), end)
    ]
    gaps = summary_gaps(summary, location.windows)
    bands = [
        *(
            Band(e["from_ms"], max(e["to_ms"], e["from_ms"] + 60_000), BEYOND)
            for e in summary.excursions
        ),
        *(Band(a, b, DOOR) for a, b in doors),
        *(band for band, _ in gaps),
    ]
    title = w("pdf_summary_chart_hourly" if by_hour else "pdf_summary_chart_daily")
    drawing = chart(title, series, w, limits=limits, bands=bands, start_ms=start, end_ms=end)
    return drawing, doors, gaps


def _temperature_table(summary: Summary, w: Words, by_hour: bool) -> list[Flowable]:
    """Temperatures per hour (one day) or per day: min / max / mean, minutes beyond."""
    if by_hour:
        items = [
            (w.clock(hour_ms) + " – " + w.clock(hour_ms + HOUR_MS), channel, d)
            for (hour_ms, channel), d in sorted(summary.hours.items())
        ]
    else:
        items = [
            (w.day(_day_ms(day)), channel, d) for (day, channel), d in sorted(summary.days.items())
        ]
    rows = [
        (
            when,
            w.name(channel),
            w.number(d.n),
            w.celsius(d.low),
            w.celsius(d.high),
            w.celsius(d.total / d.n),
            w.number(d.minutes_beyond, 0),
        )
        for when, channel, d in items
        if channel in TEMPERATURE_CHANNELS
    ]
    heading = "pdf_summary_temperatures_hourly" if by_hour else "pdf_summary_temperatures_daily"
    return [
        para(w(heading), H2),
        table(
            [
                w("pdf_col_hour" if by_hour else "pdf_col_day"),
                w("pdf_col_channel"),
                w("pdf_col_readings"),
                w("pdf_col_min"),
                w("pdf_col_max"),
                w("pdf_col_mean"),
                w("pdf_col_minutes_beyond_limit"),
            ],
            rows or [(w("pdf_none_f"), "", "", "", "", "", "")],
            [28 * mm, 28 * mm, 18 * mm, 22 * mm, 22 * mm, 22 * mm, 25 * mm],
        ),
    ]


def _measure_table(summary: Summary, w: Words) -> list[Flowable]:
    """The other sampled channels (humidity, supply voltage) per day, in their own unit."""
    rows = [
        (
            w.day(_day_ms(day)),
            w.name(channel),
            w.number(d.n),
            w.measure(channel, d.low),
            w.measure(channel, d.high),
            w.measure(channel, d.total / d.n),
        )
        for (day, channel), d in sorted(summary.days.items())
        if channel not in TEMPERATURE_CHANNELS
    ]
    if not rows:
        return []
    return [
        para(w("pdf_summary_measures_heading"), H2),
        table(
            [
                w("pdf_col_day"),
                w("pdf_col_channel"),
                w("pdf_col_readings"),
                w("pdf_col_min"),
                w("pdf_col_max"),
                w("pdf_col_mean"),
            ],
            rows,
            [28 * mm, 34 * mm, 18 * mm, 28 * mm, 28 * mm, 28 * mm],
        ),
    ]


def _door_table(doors: list[tuple[int, int]], w: Words) -> list[Flowable]:
    """Per local day: how many times the door was opened, for how long in all, the longest."""
    if not doors:
        return []
    per_day: dict[str, list[int]] = {}
    for a, b in doors:
        per_day.setdefault(w.day(a), []).append(b - a)
    rows = [
        (
            day,
            w.number(len(spans)),
            w("pdf_minutes", minutes=w.number(sum(spans) / 60_000, 0)),
            w("pdf_minutes", minutes=w.number(max(spans) / 60_000, 0)),
        )
        for day, spans in per_day.items()
    ]
    return [
        para(w("pdf_summary_door_heading"), H2),
        table(
            [w("pdf_col_day"), w("pdf_col_openings"), w("pdf_col_open_time"), w("pdf_col_longest")],
            rows,
            [28 * mm, 40 * mm, 40 * mm, 40 * mm],
        ),
    ]


def _gap_table(gaps: list[tuple[Band, list[str]]], w: Words) -> list[Flowable]:
    if not gaps:
        return []
    rows = [
        (
            ", ".join(w.name(ch) for ch in channels),
            w.time(band.from_ms),
            w.time(band.to_ms),
            w.number((band.to_ms - band.from_ms) / 60_000, 0),
            w("pdf_gap_offline" if band.kind == OFFLINE else "pdf_gap_silent"),
        )
        for band, channels in gaps[:50]
    ]
    return [
        para(w("pdf_summary_gaps_heading"), H2),
        table(
            [
                w("pdf_col_channels"),
                w("pdf_col_start"),
                w("pdf_col_end"),
                w("pdf_col_minutes"),
                w("pdf_col_cause"),
            ],
            rows,
            [40 * mm, 32 * mm, 32 * mm, 18 * mm, 58 * mm],
        ),
    ]
