"""The demo's scripted day, as data: who is there, what each probe measures, what the drivers do.

Times are minutes from the start of the day (the demo clock, coldchain/clock.py, decides which
real instant that is). Three cooperatives share two vans; four producers keep their cold
rooms; the day holds one of each scenario the issue asks for:

- normal rounds: three deliveries, pickups at producers' cold rooms, drops at shops;
- a door left open at a stop (van 1, drop 2): a warning, then cleared when it is shut;
- a cold-room compressor failure (Fromagerie): critical, a corrective action is needed;
- a van in a dead zone for 40 minutes (van 2) whose backlog reveals an excursion: detected late;
- a frozen load at -16 °C in transport (van 1, surgelé): within the transport tolerance, no alert;
- a minced-meat lot that makes its zone a 2 °C zone until it is dropped (van 1, froid).

Van zones report the product simulant ("product"), cold rooms the air: one channel per place,
so each scenario gives one alert a person can follow (docs/demo.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

DAY_MIN = 330  # the scripted day: 5 h 30 of activity
INTERVAL_S = 60  # the probes' recording interval


@dataclass(frozen=True)
class Cooperative:
    key: str
    name: str
    slug: str  # for the demo users' e-mail addresses


@dataclass(frozen=True)
class Producer:
    key: str
    name: str
    slug: str
    member_of: tuple[str, ...]
    cold_room: str  # its name
    category: str  # the cold room's product category (alerts/profiles.toml)
    address: str


@dataclass(frozen=True)
class Van:
    key: str
    name: str
    plate: str
    owner: str
    pool: tuple[str, ...]  # the other cooperatives that may use it
    zones: tuple[tuple[str, str], ...]  # (zone key, zone name)


COOPERATIVES = (
    Cooperative("A", "Coopérative du Condroz", "condroz"),
    Cooperative("B", "Ardenne Solidaire", "ardenne"),
    Cooperative("C", "Hesbaye en Circuit Court", "hesbaye"),
)

PRODUCERS = (
    Producer(
        "P1",
        "Boucherie Lambert",
        "boucherie",
        ("A",),
        "Chambre froide de la boucherie",
        "fresh_meat_ungulates",
        "Rue du Centre 12, 5590 Ciney",
    ),
    Producer(
        "P2",
        "Fromagerie du Bairsoul",
        "fromagerie",
        ("A", "C"),
        "Cave d'affinage et chambre froide",
        "chilled_retail",
        "Rue du Bairsoul 3, 4570 Marchin",
    ),
    Producer(
        "P3",
        "Ferme des Hêtres",
        "hetres",
        ("A", "B"),
        "Chambre de surgélation",
        "quick_frozen",
        "Chemin des Hêtres 8, 6900 Marche-en-Famenne",
    ),
    Producer(
        "P4",
        "Potager de la Lesse",
        "potager",
        ("B", "C"),
        "Chambre froide légumes",
        "chilled_retail",
        "Rue de la Lesse 41, 5580 Rochefort",
    ),
)

VANS = (
    Van(
        "V1",
        "Camionnette du Condroz",
        "1-CDZ-401",
        "A",
        ("B", "C"),
        (("V1_froid", "froid"), ("V1_surgele", "surgelé")),
    ),
    Van("V2", "Camionnette d'Ardenne", "1-ARD-202", "B", ("A", "C"), (("V2_froid", "froid"),)),
)

# Temperature at a place: a base with a small regular wobble (a real cold room always moves a
# little; a flat line would be, rightly, a "stuck value" sensor fault), plus scenario bends.
WOBBLE = (0.0, 0.15, -0.1, 0.2, -0.15, 0.05)


def steady(base: float, until_min: int = DAY_MIN + 600) -> list[tuple[int, float]]:
    return [
        (m * 60, round(base + WOBBLE[(m // 10) % len(WOBBLE)], 2))
        for m in range(0, until_min + 1, 10)
    ]


def bend(
    series: list[tuple[int, float]], points: list[tuple[float, float]]
) -> list[tuple[int, float]]:
    """Replace the series between the first and last of `points` (minutes, °C) by them."""
    start, end = points[0][0] * 60, points[-1][0] * 60
    kept = [p for p in series if p[0] < start or p[0] > end]
    return sorted(kept + [(round(m * 60), v) for m, v in points])


def switch(
    before: list[tuple[int, float]], after: list[tuple[int, float]], from_min: int, to_min: int
) -> list[tuple[int, float]]:
    """`before` until `from_min`, a ramp, then `after` from `to_min`."""
    head = [p for p in before if p[0] < from_min * 60]
    tail = [p for p in after if p[0] >= to_min * 60]
    return [*head, (from_min * 60, head[-1][1]), *tail]


@dataclass(frozen=True)
class ProbeScript:
    probe_id: str
    place: str  # a zone key (V1_froid...) or a producer key (its cold room)
    owner: str  # the organisation that registers it
    channel: str
    series: list[tuple[int, float]]
    door: list[tuple[int, int]] = field(default_factory=list)  # (scenario s, 0 shut / 1 open)
    offline: list[tuple[int, int]] = field(default_factory=list)  # dead zones (scenario s)


def _door(openings: list[tuple[float, float]]) -> list[tuple[int, int]]:
    out = [(0, 0)]
    for a, b in openings:
        out += [(round(a * 60), 1), (round(b * 60), 0)]
    return out


PROBES = (
    # Van 1, froid: pre-cooled for the minced meat (1 °C), warms to 3.2 °C once loaded at the
    # butcher's: over the minced meat's 2 °C, fine for everything else.
    ProbeScript(
        "demo-v1-froid",
        "V1_froid",
        "A",
        "product",
        switch(steady(1.0), steady(3.2), 80, 90),
        door=_door([(80, 83), (100, 102), (170, 173), (200, 208), (260, 262), (300, 302)]),
    ),
    # Van 1, surgelé: -22 °C; after the farm's stop the box warms to -16.5 °C for a few minutes.
    ProbeScript(
        "demo-v1-surgele",
        "V1_surgele",
        "A",
        "product",
        bend(steady(-22.0), [(120, -22.0), (123, -16.5), (127, -16.5), (130, -22.0)]),
    ),
    # Van 2, froid: 4 °C; out of coverage from 180 to 220 min, and meanwhile the unit fails.
    ProbeScript(
        "demo-v2-froid",
        "V2_froid",
        "B",
        "product",
        bend(steady(4.0), [(180, 4.0), (188, 9.5), (205, 9.5), (212, 4.0)]),
        door=_door([(100, 103), (240, 243)]),
        offline=[(180 * 60, 220 * 60)],
    ),
    ProbeScript("demo-boucherie", "P1", "P1", "air", steady(2.5)),
    # The cheese maker's compressor fails at 60 min; repaired at 150.
    ProbeScript(
        "demo-fromagerie",
        "P2",
        "P2",
        "air",
        bend(steady(4.0), [(60, 4.0), (100, 11.0), (150, 11.0), (180, 4.0)]),
    ),
    ProbeScript("demo-hetres", "P3", "P3", "air", steady(-21.0)),
    ProbeScript("demo-potager", "P4", "P4", "air", steady(5.0)),
)


@dataclass(frozen=True)
class Stop:
    key: str
    kind: str  # pickup | drop
    at_min: int
    place: str  # a producer key for a pickup, a shop's name for a drop
    address: str = ""


@dataclass(frozen=True)
class Load:
    lot: str
    description: str
    category: str
    quantity: str
    unit: str
    consignor: str  # producer key
    consignee: str
    zone: str
    pickup: str  # stop key
    drop: str


@dataclass(frozen=True)
class Delivery:
    key: str
    cooperative: str
    van: str
    depart_min: int
    close_min: int
    stops: tuple[Stop, ...]
    loads: tuple[Load, ...]
    door_open_at: str | None = None  # the stop where the door stays open (for the texts)


DELIVERIES = (
    Delivery(
        "D1",
        "A",
        "V1",
        depart_min=70,
        close_min=230,
        stops=(
            Stop("D1-boucherie", "pickup", 80, "P1"),
            Stop("D1-hetres", "pickup", 100, "P3"),
            Stop("D1-ciney", "drop", 170, "Épicerie du Marché", "Place Monseu 4, 5590 Ciney"),
            Stop("D1-dinant", "drop", 200, "Restaurant scolaire", "Rue Saint-Roch 2, 5500 Dinant"),
        ),
        loads=(
            Load(
                "HACHE-0611",
                "Viande hachée de bœuf",
                "minced_meat",
                "8",
                "kg",
                "P1",
                "Épicerie du Marché",
                "V1_froid",
                "D1-boucherie",
                "D1-ciney",
            ),
            Load(
                "COLIS-0611",
                "Colis de bœuf",
                "fresh_meat_ungulates",
                "24",
                "kg",
                "P1",
                "Restaurant scolaire",
                "V1_froid",
                "D1-boucherie",
                "D1-dinant",
            ),
            Load(
                "LEGSURG-0611",
                "Légumes surgelés",
                "quick_frozen",
                "30",
                "kg",
                "P3",
                "Restaurant scolaire",
                "V1_surgele",
                "D1-hetres",
                "D1-dinant",
            ),
        ),
        door_open_at="D1-dinant",
    ),
    Delivery(
        "D2",
        "B",
        "V2",
        depart_min=90,
        close_min=260,
        stops=(
            Stop("D2-potager", "pickup", 100, "P4"),
            Stop("D2-marche", "drop", 240, "Magasin coopératif", "Rue Neuve 9, 6900 Marche"),
        ),
        loads=(
            Load(
                "PANIER-0611",
                "Paniers de légumes et fromages frais",
                "chilled_retail",
                "40",
                "pièce",
                "P4",
                "Magasin coopératif",
                "V2_froid",
                "D2-potager",
                "D2-marche",
            ),
        ),
    ),
    Delivery(
        "D3",
        "C",
        "V1",
        depart_min=250,
        close_min=320,
        stops=(
            Stop("D3-potager", "pickup", 260, "P4"),
            Stop("D3-hannut", "drop", 300, "Point relais", "Place Henri Hallet 1, 4280 Hannut"),
        ),
        loads=(
            Load(
                "LEG-0611",
                "Légumes de saison",
                "chilled_retail",
                "55",
                "kg",
                "P4",
                "Point relais",
                "V1_froid",
                "D3-potager",
                "D3-hannut",
            ),
        ),
    ),
)

# What the day must show (tests/coldchain/test_demo*.py, docs/demo.md): place, kind, severity.
EXPECTED_ALERTS = (
    ("V1_froid", "door_open", "warning"),  # left open at the school's drop, then shut
    ("P2", "temperature_excursion", "critical"),  # compressor failure
    ("V2_froid", "temperature_excursion", "critical"),  # revealed by the backlog: detected late
    ("V2_froid", "probe_offline", "warning"),  # the dead zone itself
    ("V1_froid", "temperature_excursion", "critical"),  # 3.2 °C with minced meat on board (2 °C)
)


def value_at(series: list[tuple[int, float]], s: float) -> float:
    """The series at scenario second `s`: piecewise linear, as the simulated board reads it."""
    if s <= series[0][0]:
        return series[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(series):
        if s <= t1:
            return v0 + (v1 - v0) * (s - t0) / (t1 - t0) if t1 > t0 else v1
    return series[-1][1]
