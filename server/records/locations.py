"""One location of the inspection export (a van zone or a cold room): its readings as CSV,
streamed day by day, and a PDF summary (daily min/max/mean, excursions, alerts)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable
from sqlalchemy.orm import Session

from alerts.judgement import Bounds, judge
from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.core.access import Interval
from server.domain.place_readings import Place, series, to_ms
from server.records.chart import Limit, chart
from server.records.document import sealed_reading
from server.records.formats import READING_COLUMNS, reading_row, spreadsheet_writer
from server.records.pdfkit import H2, SMALL, TITLE, build, para, table
from server.records.timefmt import celsius, local
from server.records.verdict import MAX_STEP_MS


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
    day: str
    n: int = 0
    low: float = float("inf")
    high: float = float("-inf")
    total: float = 0.0
    minutes_beyond: float = 0.0


@dataclass
class Summary:
    readings: int = 0
    days: dict[tuple[str, str], Day] = field(default_factory=dict)  # (day, channel)
    excursions: list[dict[str, Any]] = field(default_factory=list)
    _open: dict[str, dict[str, Any]] = field(default_factory=dict)
    _last: dict[str, tuple[int, bool]] = field(default_factory=dict)  # time, was beyond

    def add(
        self, channel: str, time_ms: int, value: float, day: str, limit: Mapping[str, Any] | None
    ) -> None:
        entry = self.days.get((day, channel))
        if entry is None:
            entry = self.days[(day, channel)] = Day(day)
        entry.n += 1
        entry.low = min(entry.low, value)
        entry.high = max(entry.high, value)
        entry.total += value
        if limit is None:
            return
        judged = judge(value, Bounds(limit["max_c"], limit["min_c"]), in_transport=False)
        above, below = judged.above, judged.below
        previous = self._last.get(channel)
        if previous is not None and previous[1]:  # the previous reading was beyond: it lasted
            entry.minutes_beyond += min(time_ms - previous[0], MAX_STEP_MS) / 60_000
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
    summary = Summary()
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


def bounds(limit: Mapping[str, Any]) -> str:
    parts = [f"{name} {celsius(limit[key])}" for name, key in (("max", "max_c"), ("min", "min_c"))]
    kept = [
        part for part, key in zip(parts, ("max_c", "min_c"), strict=True) if limit[key] is not None
    ]
    return ", ".join(kept) or "aucune"


def summary_pdf(
    location: Location, summary: Summary, alerts: list[dict[str, Any]], period: str, out: BinaryIO
) -> None:
    story: list[Flowable] = [
        para(f"Relevés de températures — {location.label}", TITLE),
        para(f"Période : {period} (heure de Bruxelles)"),
    ]
    limit = location.limit
    if limit is not None:
        story.append(para(f"Limite : {bounds(limit)} — {limit['source_fr']}."))
    else:
        story.append(
            para(
                "Zone de véhicule : la limite suit les lots à bord ; les verdicts par lot sont "
                "dans les enregistrements des livraisons (dossier enregistrements/)."
            )
        )
    story.append(para(f"{summary.readings} mesures (fichier releves.csv)."))
    lines: dict[str, list[tuple[int, float]]] = {}
    for (day, channel), d in sorted(summary.days.items()):
        ms = to_ms(datetime.fromisoformat(day).replace(tzinfo=clock.zone()))
        lines.setdefault(f"{channel} min", []).append((ms, d.low))
        lines.setdefault(f"{channel} max", []).append((ms, d.high))
    if lines:
        times = [t for pts in lines.values() for t, _ in pts]
        limits = (
            [Limit(min(times), max(times) + 86_400_000, limit["max_c"], limit["min_c"])]
            if limit
            else []
        )
        story.append(chart("Minimum et maximum journaliers", lines, limits, []))
    story.append(para("Par jour", H2))
    rows = [
        (
            local(day + "T12:00:00Z", "%d/%m/%Y"),
            channel,
            d.n,
            celsius(d.low),
            celsius(d.high),
            celsius(d.total / d.n),
            f"{d.minutes_beyond:.0f}",
        )
        for (day, channel), d in sorted(summary.days.items())
    ]
    story.append(
        table(
            ["Jour", "Canal", "Mesures", "Min", "Max", "Moyenne", "Min. hors limite"],
            rows or [("—",) * 7],
            [25 * mm, 18 * mm, 18 * mm, 22 * mm, 22 * mm, 22 * mm, 25 * mm],
        )
    )
    story.append(para("Dépassements de la limite", H2))
    if limit is None:
        story.append(para("Voir les enregistrements des livraisons et les alertes.", SMALL))
    else:
        ex_rows = [
            (
                e["channel"],
                local(e["from_ms"]),
                local(e["to_ms"]),
                f"{(e['to_ms'] - e['from_ms']) / 60000:.0f}",
                celsius(e["peak"]),
            )
            for e in summary.excursions
        ]
        story.append(
            table(
                ["Canal", "Début", "Fin", "Minutes", "Pic"],
                ex_rows or [("aucun", "", "", "", "")],
                [20 * mm, 35 * mm, 35 * mm, 20 * mm, 25 * mm],
            )
        )
    story.append(para("Alertes et actions correctives", H2))
    alert_rows = [
        (
            local(a["start_at"]),
            local(a["end_at"]),
            a["severity"],
            a["text_fr"],
            "oui" if a["corrective_action"] else "non",
        )
        for a in alerts
    ]
    story.append(
        table(
            ["Début", "Fin", "Gravité", "Alerte", "Action corrective"],
            alert_rows or [("aucune", "", "", "", "")],
            [28 * mm, 28 * mm, 20 * mm, 80 * mm, 22 * mm],
        )
    )
    build(out, story, location.label, f"{location.label} — {period}")
