"""The HACCP plan of the inspection export (plan_haccp.pdf): a cooperative's plan for the
transport and cold storage of food, built from what the system really has: its vans and
their zones, its cold rooms, the probes installed there, the product categories in use,
the limits of alerts/profiles.toml with their sources, the alert policy, the calibration
register and the retention applied.

Every limit says where it comes from: its legal source (regulation, annex, point), or
« choix HACCP de la coopérative » with the reason written in the profile
(`own_choice_reason`, or its `_nl` / `_en` translation), and how it is applied where the law
leaves a point open (`application`, likewise). Working notes of the maintainers are comments
of the profile file: nothing here prints them. The words are the `records` catalogue's
(server/locale/, `plan_*`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.profiles import Basis, ProductProfile
from coldchain import clock
from server.core import catalogue
from server.core.access import Viewer
from server.core.calibration import ACCEPTANCE_LIMIT_C, Result, is_overdue
from server.core.calibration import VERIFICATION_INTERVAL_MONTHS as MONTHS
from server.core.models import (
    Calibration,
    ColdRoom,
    Installation,
    Organisation,
    Probe,
    Van,
    Zone,
)
from server.records import config, registers, vocabulary
from server.records.locations import Location
from server.records.pdfkit import CELL, H2, SMALL, TITLE, build, para, rich, table
from server.records.timefmt import celsius, local, number

ZONE_KINDS = {"compartment": "plan_zone_compartment", "thermo_box": "plan_zone_thermo_box"}
FROZEN_BELOW_C = -10.0  # a profile whose maximum is below this is frozen food


@dataclass(frozen=True)
class VanLine:
    name: str
    plate: str
    zones: tuple[tuple[str, str], ...]  # (name, kind)


@dataclass(frozen=True)
class RoomLine:
    name: str
    category: str
    label_max_c: float | None = None
    label_reason: str | None = None


@dataclass(frozen=True)
class ProbeLine:
    probe_id: str
    place: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class ProbeState:
    """The verification state of the plan's probes: per channel, its newest verification."""

    probes: int
    up_to_date: int
    late: int  # next verification overdue
    no_due: int  # no next date recorded
    failed: int  # the newest verification failed
    never: int  # probes without any verification


@dataclass(frozen=True)
class Plan:
    """What the plan says, gathered from the database (`gather`) or given (tests)."""

    period: str
    calibrations: list[list[str]] = field(default_factory=list)  # registers.calibration_rows
    cooperatives: tuple[str, ...] = ()
    vans: tuple[VanLine, ...] = ()
    cold_rooms: tuple[RoomLine, ...] = ()
    probes: tuple[ProbeLine, ...] = ()
    categories: tuple[str, ...] = ()  # in use: cold rooms' and lots' categories
    profiles: Mapping[str, ProductProfile] = field(default_factory=dict)
    retention_days: int | None = None  # None: the process's setting (server/records/config.py)
    made_on: date | None = None
    probe_state: ProbeState | None = None
    lang: str = "fr"  # the language of the export (server/records/inspection.py)


def gather(
    session: Session,
    viewer: Viewer,
    start: datetime,
    end: datetime,
    places: Sequence[Location],
    profiles: Mapping[str, ProductProfile],
    categories: Iterable[str],
    calibrations: list[list[str]],
    period: str,
) -> Plan:
    """The plan of the export's locations (`places`, already checked against the viewer's
    rights) over [start, end): their vans and zones, cold rooms, probes installed in the
    period, and the categories in use."""
    zone_ids = [p.place.zone_id for p in places if p.place.zone_id is not None]
    room_ids = [p.place.cold_room_id for p in places if p.place.cold_room_id is not None]
    labels = {(p.place.zone_id, p.place.cold_room_id): p.label for p in places}
    vans: dict[int, tuple[Van, list[Zone]]] = {}
    for zone, van in session.execute(
        select(Zone, Van).join(Van, Van.id == Zone.van_id).where(Zone.id.in_(zone_ids))
    ).all():
        vans.setdefault(van.id, (van, []))[1].append(zone)
    rooms = session.scalars(
        select(ColdRoom).where(ColdRoom.id.in_(room_ids)).order_by(ColdRoom.name)
    ).all()
    installed = session.execute(
        select(Installation, Probe)
        .join(Probe, Probe.id == Installation.probe_id)
        .where(
            or_(Installation.zone_id.in_(zone_ids), Installation.cold_room_id.in_(room_ids)),
            Installation.start < end,
            or_(Installation.end.is_(None), Installation.end > start),
        )
        .order_by(Probe.probe_id, Installation.start)
    ).all()
    state = _probe_state(session, {probe.id for _, probe in installed}, end, clock.today())
    names = session.scalars(
        select(Organisation.name)
        .where(Organisation.id.in_(viewer.staff_coops))
        .order_by(Organisation.name)
    ).all()
    return Plan(
        period=period,
        calibrations=calibrations,
        cooperatives=tuple(names),
        vans=tuple(
            VanLine(van.name, van.plate, tuple((z.name, z.kind) for z in sorted(zs, key=_id)))
            for van, zs in sorted(vans.values(), key=lambda vz: vz[0].name)
        ),
        cold_rooms=tuple(
            RoomLine(r.name, r.category, r.label_max_c, r.label_reason) for r in rooms
        ),
        probes=tuple(
            ProbeLine(
                probe.probe_id,
                labels.get((i.zone_id, i.cold_room_id), "—"),
                i.start,
                i.end,
            )
            for i, probe in installed
        ),
        categories=tuple(sorted(set(categories))),
        profiles=profiles,
        made_on=clock.today(),
        probe_state=state,
    )


def _probe_state(session: Session, probe_ids: set[int], end: datetime, today: date) -> ProbeState:
    """Each channel's newest verification before `end` (server/core/calibration.py says
    when one is overdue), and the probes that have none."""
    newest: dict[tuple[int, str], Calibration] = {}
    for calibration in session.scalars(
        select(Calibration)
        .where(Calibration.probe_id.in_(probe_ids), Calibration.calibrated_at < end)
        .order_by(Calibration.calibrated_at, Calibration.id)
    ):
        newest[(calibration.probe_id, calibration.channel)] = calibration
    failed = [c for c in newest.values() if c.result == Result.FAIL]
    rest = [c for c in newest.values() if c.result != Result.FAIL]
    late = [c for c in rest if is_overdue(c.next_due, today)]
    no_due = [c for c in rest if c.next_due is None]
    return ProbeState(
        probes=len(probe_ids),
        up_to_date=len(rest) - len(late) - len(no_due),
        late=len(late),
        no_due=len(no_due),
        failed=len(failed),
        never=len(probe_ids - {probe_id for probe_id, _ in newest}),
    )


def _id(zone: Zone) -> int:
    return zone.id


def render(plan: Plan, out: BinaryIO | None = None) -> bytes:
    """The plan as a PDF in the export's language (its legal citations and the
    cooperative's reasons, from alerts/profiles.toml, stay as written there)."""
    w = catalogue.words("records", plan.lang)
    used = [plan.profiles[c] for c in plan.categories if c in plan.profiles]
    controlled = [p for p in used if p.temperature_controlled]
    story: list[Flowable] = [para(w["plan_title"], TITLE)]
    if plan.cooperatives:
        story.append(para(w["plan_cooperative"].format(names=", ".join(plan.cooperatives))))
    made_on = (plan.made_on or clock.today()).strftime("%d/%m/%Y")
    story.append(para(w["plan_period"].format(period=plan.period, date=made_on)))
    story += _scope(plan, w)
    story += _hazards(controlled, w, plan.lang)
    story += _ccps(plan, w)
    story += _limits(plan, w)
    story += _monitoring(controlled, w, plan.lang)
    story += _actions(w)
    story += _verification(plan, w)
    story += _retention_and_open_points(plan, controlled, w)
    return build(out, story, w["plan_title"], f"{w['plan_title']} — {plan.period}")


def _scope(plan: Plan, w: Mapping[str, str]) -> list[Flowable]:
    out: list[Flowable] = [para(w["plan_scope_title"], H2), para(w["plan_scope"])]
    rows: list[tuple[str, ...]]
    if plan.vans:
        rows = [
            (
                f"{van.name} ({van.plate})",
                ", ".join(
                    f"{name} ({w[ZONE_KINDS[kind]] if kind in ZONE_KINDS else kind})"
                    for name, kind in van.zones
                ),
            )
            for van in plan.vans
        ]
        out.append(table([w["plan_col_van"], w["plan_col_zones"]], rows, [60 * mm, 120 * mm]))
    else:
        out.append(para(w["plan_no_vans"]))
    if plan.cold_rooms:
        rows = []
        for room in plan.cold_rooms:
            profile = plan.profiles.get(room.category)
            label = "—"
            if room.label_max_c is not None:
                label = w["plan_room_label"].format(
                    limit=celsius(room.label_max_c), reason=room.label_reason or "—"
                )
            rows.append((room.name, profile.name(plan.lang) if profile else room.category, label))
        out.append(
            table(
                [w["plan_col_room"], w["plan_col_category"], w["plan_col_label"]],
                rows,
                [60 * mm, 60 * mm, 60 * mm],
            )
        )
    else:
        out.append(para(w["plan_no_rooms"]))
    if plan.probes:
        rows = [
            (
                probe.probe_id,
                probe.place,
                local(probe.start, "%d/%m/%Y"),
                local(probe.end, "%d/%m/%Y") if probe.end else w["plan_probe_in_place"],
            )
            for probe in plan.probes
        ]
        header = [
            w["plan_col_probe"],
            w["plan_col_place"],
            w["plan_col_installed"],
            w["plan_col_removed"],
        ]
        out.append(table(header, rows, [30 * mm, 90 * mm, 30 * mm, 30 * mm]))
    else:
        out.append(para(w["plan_no_probes"]))
    return out


def _is_frozen(profile: ProductProfile) -> bool:
    return profile.max_c is not None and profile.max_c < FROZEN_BELOW_C


def _hazards(controlled: list[ProductProfile], w: Mapping[str, str], lang: str) -> list[Flowable]:
    out: list[Flowable] = [para(w["plan_hazards_title"], H2)]
    if any(not _is_frozen(p) for p in controlled):
        out.append(para(f"• {w['plan_hazard_chilled']}"))
    if any(_is_frozen(p) for p in controlled):
        out.append(para(f"• {w['plan_hazard_frozen']}"))
    with_minimum = [p.name(lang) for p in controlled if p.min is not None]
    if with_minimum:
        out.append(para(f"• {w['plan_hazard_cold'].format(names=', '.join(with_minimum))}"))
    out.append(para(f"• {w['plan_hazard_record']}"))
    return out


def _ccps(plan: Plan, w: Mapping[str, str]) -> list[Flowable]:
    out: list[Flowable] = [para(w["plan_ccp_title"], H2)]
    number = 0
    if plan.vans:
        number += 1
        out.append(para(w["plan_ccp_transport"].format(n=number)))
    if plan.cold_rooms:
        number += 1
        out.append(para(w["plan_ccp_storage"].format(n=number)))
    return out


def limit_text(profile: ProductProfile, w: Mapping[str, str]) -> str:
    """The profile's limits, in the plan's words."""
    parts = []
    if profile.max is not None:
        parts.append(w["plan_max"].format(value=celsius(profile.max.value)))
    if profile.min is not None:
        parts.append(w["plan_min"].format(value=celsius(profile.min.value)))
    tolerance = profile.transport_tolerance
    if tolerance is not None:
        parts.append(
            w["plan_tolerance"].format(
                value=number(tolerance.value_c), minutes=number(tolerance.max_duration_min)
            )
        )
    return w["list_sep"].join(parts) or w["plan_no_limit"]


def basis_lines(profile: ProductProfile, w: Mapping[str, str], lang: str) -> list[str]:
    """Where the profile's limits come from: the legal source, or the cooperative's HACCP
    choice with its reason, and how the limit is applied (the profile's own fields, in
    `lang`; the legal citation as published)."""
    if not profile.temperature_controlled:
        return [w["plan_no_control"]]
    bases = {b.basis for b in (profile.max, profile.min) if b is not None}
    cite = profile.source.cite()
    if bases == {Basis.LAW}:
        lines = [w["plan_basis_law"].format(cite=cite)]
    elif Basis.REFERENCE in bases:
        lines = [w["plan_basis_reference"].format(cite=cite)]
    else:
        lines = [w["plan_basis_text"].format(cite=cite)]
    if profile.own_choice:
        lines.append(w["plan_own_choice"].format(reason=profile.reason(lang)))
    if profile.application:
        lines.append(w["plan_application"].format(text=profile.applied(lang)))
    return lines


def _limits(plan: Plan, w: Mapping[str, str]) -> list[Flowable]:
    out: list[Flowable] = [para(w["plan_limits_title"], H2)]
    rows: list[tuple[Any, ...]] = []
    for code in plan.categories:
        profile = plan.profiles.get(code)
        if profile is None:
            rows.append((code, "—", w["plan_unknown_category"]))
            continue
        lines = rich(
            "<br/>".join(escape(line) for line in basis_lines(profile, w, plan.lang)), CELL
        )
        rows.append((profile.name(plan.lang), limit_text(profile, w), lines))
    if rows:
        header = [w["plan_col_category"], w["plan_col_limit"], w["plan_col_basis"]]
        out.append(table(header, rows, [38 * mm, 42 * mm, 100 * mm]))
    else:
        out.append(para(w["plan_no_categories"]))
    out.append(para(w["plan_label_rule"], SMALL))
    channel = vocabulary.value("product", plan.lang)
    out.append(para(w["plan_product_air"].format(channel=channel), SMALL))
    return out


def _monitoring(
    controlled: list[ProductProfile], w: Mapping[str, str], lang: str
) -> list[Flowable]:
    out: list[Flowable] = [
        para(w["plan_monitoring_title"], H2),
        para(w["plan_monitoring"]),
        para(w["plan_alert_policy"]),
    ]
    if controlled:
        rows = [
            (
                p.name(lang),
                f"{number(p.choices.critical_delay_min)} min",
                f"+{number(p.choices.hard_margin_c)} °C",
                f"{number(p.choices.warning_margin_c)} °C",
            )
            for p in controlled
        ]
        header = [
            w["plan_col_category"],
            w["plan_col_critical_delay"],
            w["plan_col_hard_margin"],
            w["plan_col_near"],
        ]
        out.append(table(header, rows, [60 * mm, 40 * mm, 40 * mm, 40 * mm]))
    out.append(para(w["plan_alert_reason"], SMALL))
    return out


def _actions(w: Mapping[str, str]) -> list[Flowable]:
    out: list[Flowable] = [para(w["plan_actions_title"], H2), para(w["plan_actions_intro"])]
    for key in (
        "plan_action_immediate",
        "plan_action_assessment",
        "plan_action_decision",
        "plan_action_cause",
        "plan_action_afsca",
    ):
        out.append(para(f"• {w[key]}"))
    return out


def _verification(plan: Plan, w: Mapping[str, str]) -> list[Flowable]:
    state = plan.probe_state
    out: list[Flowable] = [
        para(w["plan_verification_title"], H2),
        para(
            w["plan_verification_probes"].format(months=MONTHS, limit=number(ACCEPTANCE_LIMIT_C, 1))
        ),
    ]
    if state is not None:
        out.append(
            para(
                w["plan_verification_state"].format(
                    probes=state.probes,
                    up_to_date=state.up_to_date,
                    late=state.late,
                    no_due=state.no_due,
                    failed=state.failed,
                    never=state.never,
                )
            )
        )
    out += [
        para(w["plan_verification_records"]),
        para(w["plan_verification_review"]),
        para(w["plan_register_title"], H2),
    ]
    columns = [w[key] for key in registers.PDF_COLUMNS]
    out.append(
        table(
            columns,
            registers.pdf_rows(plan.calibrations) or [["—"] * len(columns)],
            [16 * mm, 12 * mm, 22 * mm, 28 * mm, 12 * mm, 26 * mm, 20 * mm, 17 * mm, 27 * mm],
        )
    )
    return out


def _retention_and_open_points(
    plan: Plan, controlled: list[ProductProfile], w: Mapping[str, str]
) -> list[Flowable]:
    days = plan.retention_days or config.current().retention_days
    years = number(round(days / 365, 1))
    out: list[Flowable] = [
        para(w["plan_records_title"], H2),
        para(w["plan_retention"].format(days=days, years=years)),
        para(w["plan_open_title"], H2),
    ]
    rows = [
        (
            w["plan_open_retention_point"],
            w["plan_open_retention_value"].format(days=days),
            w["plan_open_retention_why"],
        )
    ]
    if any(not _is_frozen(p) for p in controlled):
        rows.append(
            (
                w["plan_open_periods_point"],
                w["plan_open_periods_value"],
                w["plan_open_periods_why"],
            )
        )
    durations = sorted(
        {
            p.transport_tolerance.max_duration_min
            for p in controlled
            if p.transport_tolerance is not None
        }
    )
    if durations:
        rows.append(
            (
                w["plan_open_brief_point"],
                w["plan_open_brief_value"].format(minutes=" / ".join(number(d) for d in durations)),
                w["plan_open_brief_why"],
            )
        )
    if any(_is_frozen(p) for p in controlled):
        rows.append(
            (
                w["plan_open_recorder_point"],
                w["plan_open_recorder_value"],
                w["plan_open_recorder_why"],
            )
        )
    rows.append((w["plan_open_air_point"], w["plan_open_air_value"], w["plan_open_air_why"]))
    header = [w["plan_col_point"], w["plan_col_value"], w["plan_col_why"]]
    out.append(table(header, rows, [50 * mm, 50 * mm, 80 * mm]))
    out.append(para(w["plan_times"], SMALL))
    return out
