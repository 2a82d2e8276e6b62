"""Why a location of the inspection export has no reading in the period, in words: no
probe was installed (when), a probe was installed but sent nothing (which, when), or the
viewer may see none of a shared van's readings in the period (no delivery of theirs).
From the installation history (server/domain/place_readings.py `installations`), the
same one the readings are attributed by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.access import Interval, clip, subtract
from server.core.models import Probe
from server.domain.place_readings import Place, installations
from server.records.timefmt import local
from server.records.vocabulary import LANG, words


def why_empty(
    session: Session,
    place: Place,
    windows: list[Interval],
    start: datetime,
    end: datetime,
    lang: str = LANG,
) -> str:
    """« aucune donnée : … » for `place` over [start, end) seen through `windows` (the
    intervals the viewer may see), each span of the period with its reason, in time order."""
    said = words(lang)
    visible = clip(windows, start, end)
    if not visible:
        return said["no_data"].format(why=said["no_delivery"])
    seen: list[Interval] = list(visible)
    found = installations(session, place, start, end)
    names = dict(
        session.execute(
            select(Probe.id, Probe.probe_id).where(Probe.id.in_({i.probe_id for i in found}))
        ).all()
    )
    spans: list[tuple[datetime, str]] = []
    for installation in found:
        for a, b in clip([(installation.start, installation.end)], start, end):
            for seen_from, seen_to in clip(seen, a, b):
                text = said["silent"].format(
                    probe=names.get(installation.probe_id, "?"),
                    start=local(seen_from),
                    end=local(seen_to),
                )
                spans.append((seen_from, text))
    bare = subtract(seen, [(i.start, i.end) for i in found])
    for a, b in clip(bare, start, end):
        spans.append((a, said["not_installed"].format(start=local(a), end=local(b))))
    return said["no_data"].format(why=said["list_sep"].join(text for _at, text in sorted(spans)))
