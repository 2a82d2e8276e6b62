"""LISEZMOI.txt, the first thing an inspector opens in the inspection ZIP: what the export
covers (cooperative, period, locations and how many readings each has, or why none), who
made it and when, what each file is, how to read the CSV files, and the SHA-256 of every
file in the `sha256sum` format (so `sha256sum -c LISEZMOI.txt` checks them)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from coldchain import clock
from server.records.timefmt import local
from server.records.vocabulary import LANG, words

WIDTH = 92
MOMENT = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}")
GLUE = "\x00"  # a space textwrap does not break at


@dataclass(frozen=True)
class PlaceLine:
    label: str
    readings: int
    why_empty: str | None  # set when there is no reading: why (server/records/coverage.py)


def readme(
    *,
    start: datetime,
    end: datetime,
    exported_at: datetime,
    exported_by: str,
    cooperatives: Iterable[str],
    places: Iterable[PlaceLine],
    files: Mapping[str, str],
    hashes: Mapping[str, str],
    lang: str = LANG,
) -> str:
    """The text of LISEZMOI.txt. `files`: name -> what it is; `hashes`: name -> SHA-256."""
    said = words(lang)
    lines = [said["readme_title"], "=" * len(said["readme_title"]), ""]
    names = ", ".join(sorted(cooperatives))
    if names:
        lines.append(said["readme_cooperative"].format(names=names))
    lines += [
        said["readme_period"].format(start=local(start), end=local(end), zone=clock.zone().key),
        said["readme_exported"].format(who=exported_by, at=local(exported_at)),
        "",
        said["readme_locations"],
    ]
    for place in places:
        state = place.why_empty or said["readme_readings_count"].format(count=place.readings)
        lines += _item(f"{place.label} : {state}")
    lines += ["", said["readme_files"]]
    for name in sorted(files):
        lines += _item(f"{name} : {files[name]}")
    lines += ["", *textwrap.wrap(said["readme_csv_note"], WIDTH), ""]
    lines += textwrap.wrap(said["readme_hashes"], WIDTH)
    lines += [f"{hashes[name]}  {name}" for name in sorted(hashes)]
    return "\n".join(lines) + "\n"


def _item(text: str) -> list[str]:
    """A list item, wrapped; a date and its time (« 10/03/2026 00:00 ») stay on one line."""
    kept = MOMENT.sub(lambda m: m.group(0).replace(" ", GLUE), text)
    lines = textwrap.wrap(kept, WIDTH, initial_indent="- ", subsequent_indent="  ")
    return [line.replace(GLUE, " ") for line in lines]
