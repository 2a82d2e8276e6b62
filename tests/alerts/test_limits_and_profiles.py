"""Profiles file and the limit in force: strictest lot on board, label override, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.config import LocationKind
from alerts.events import EventType
from alerts.findings import AlertKind, Severity
from alerts.limits import Lot, UnknownCategory, limit_for_cargo, limit_for_lots, timeline_for_lots
from alerts.profiles import Basis, ProfileError, load_profiles, parse_profiles
from tests.alerts.helpers import MIN, T0, config, engine_for, feed, minutes

CODES = {
    "fresh_meat_ungulates": 7.0, "offal": 3.0, "poultry_meat": 4.0, "minced_meat": 2.0,
    "meat_preparations": 4.0, "mechanically_separated_meat": 2.0, "fresh_fishery": 2.0,
    "frozen_fishery": -18.0, "quick_frozen": -18.0, "frozen_poultry": -12.0,
    "raw_milk_daily_collection": 8.0, "raw_milk_not_daily": 6.0, "raw_milk_transport": 10.0,
    "shell_eggs": 20.0, "chilled_retail": 7.0, "ice_cream": -20.0, "ambient": None,
}  # fmt: skip


def test_every_category_with_its_limit_names_and_source():
    profiles = load_profiles()
    assert set(profiles) == set(CODES)
    for code, limit in CODES.items():
        profile = profiles[code]
        assert profile.code == code and profile.name_fr and profile.name_en and profile.name_nl
        # What the HACCP plan prints, in each of its languages (tests/records/test_dutch.py)
        for lang in ("nl", "en"):
            assert bool(profile.reason(lang)) == bool(profile.own_choice_reason)
            assert profile.reason(lang) != profile.own_choice_reason or not profile.own_choice
            assert profile.applied(lang) != profile.application or not profile.application
        assert profile.max_c == limit
        assert profile.source.regulation and profile.source.article
    assert profiles["poultry_meat"].min_c == -2.0
    # numbers the law does not give are marked as ours
    assert profiles["fresh_fishery"].max is not None
    assert profiles["fresh_fishery"].max.basis is Basis.OURS
    assert profiles["shell_eggs"].max is not None
    assert profiles["shell_eggs"].max.basis is Basis.OURS
    assert profiles["ice_cream"].max is not None
    assert profiles["ice_cream"].max.basis is Basis.REFERENCE
    tolerance = profiles["quick_frozen"].transport_tolerance
    assert tolerance is not None and tolerance.value_c == 3.0
    assert tolerance.basis is Basis.LAW and tolerance.duration_basis is Basis.OURS
    assert not profiles["ambient"].temperature_controlled


GOOD = Path(__file__).parents[2] / "alerts" / "profiles.toml"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "\n[[[", "not valid TOML"),
        (lambda t: t.replace("version = 1", "version = 2"), "unsupported"),
        (
            lambda t: t.replace(
                'max = { value = 2.0, basis = "law" }', 'max = { value = "x", basis = "law" }'
            ),
            "finite number",
        ),
        (lambda t: t.replace('basis = "law" }', 'basis = "maybe" }', 1), "basis"),
        (lambda t: t.replace('applies_to = "air"', 'applies_to = "water"', 1), "applies_to"),
        (lambda t: t.replace("warning_delay_min = 10", "warning_delay_min = -1"), "negative"),
        (lambda t: t.replace('name_fr = "Glaces"\n', ""), "name_fr"),
        (
            lambda t: t.replace(
                'min = { value = -2.0, basis = "law" }', 'min = { value = 9.0, basis = "law" }'
            ),
            "min must be below",
        ),
        (
            lambda t: t.replace("[categories.ambient]", "[categories.ambient]\ncolour = 1"),
            "unknown field",
        ),
        (lambda t: t.replace('confidence = "Q" }', 'confidence = "sure" }', 1), "confidence"),
    ],
)
def test_bad_profile_file_is_refused_with_a_clear_error(edit, message, tmp_path):
    text = edit(GOOD.read_text(encoding="utf-8"))
    with pytest.raises(ProfileError, match=message):
        parse_profiles(text)
    path = tmp_path / "profiles.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError):
        load_profiles(path)


def test_missing_profile_file_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profiles(tmp_path / "nope.toml")


def test_strictest_lot_on_board_and_label_override():
    profiles = load_profiles()
    lots = [
        Lot("L1", "chilled_retail", T0, None),
        Lot("L2", "minced_meat", T0 + 10 * MIN, T0 + 65 * MIN),
        Lot("L3", "meat_preparations", T0, None, label_max_c=3.0),
    ]
    before = limit_for_lots(profiles, lots, T0 + 5 * MIN, "chilled_retail")
    assert before.max_c == 3.0 and before.label_applied and before.max_basis == "label"
    during = limit_for_lots(profiles, lots, T0 + 20 * MIN, "chilled_retail")
    assert during.max_c == 2.0 and during.max_category == "minced_meat"
    assert during.lot_ids == ("L1", "L2", "L3")
    empty = limit_for_lots(profiles, [], T0, "ambient")
    assert not empty.controlled
    # a label higher than the legal limit does not relax it (G-007)
    high_label = limit_for_lots(profiles, [Lot("L4", "minced_meat", T0, None, 6.0)], T0, "ambient")
    assert high_label.max_c == 2.0 and not high_label.label_applied


def test_conflicting_lots_are_flagged():
    profiles = load_profiles()
    lots = [Lot("E", "shell_eggs", T0), Lot("M", "minced_meat", T0)]
    limit = limit_for_lots(profiles, lots, T0, "ambient")
    assert limit.conflict and limit.max_c == 2.0 and limit.min_c == 5.0


def test_timeline_follows_loading_and_unloading():
    profiles = load_profiles()
    lots = [Lot("M", "minced_meat", T0, T0 + 5 * MIN), Lot("P", "poultry_meat", T0, None)]
    timeline = timeline_for_lots(profiles, lots, "ambient")
    assert timeline.at(T0 - 1).max_c is None
    assert timeline.at(T0 + 4 * MIN).max_c == 2.0
    assert timeline.at(T0 + 5 * MIN).max_c == 4.0


@pytest.mark.parametrize("keep_minced", [False, True])
def test_zone_judged_at_4c_once_the_minced_lot_is_dropped(keep_minced):
    """853/2004: minced meat 2 °C, poultry 4 °C. Lot dropped at 10:05 local (T0 + 5 min)."""
    off = None if keep_minced else T0 + 5 * MIN
    lots = [Lot("M", "minced_meat", T0 - 60 * MIN, off), Lot("P", "poultry_meat", T0 - 60 * MIN)]
    engine = engine_for("ambient", lots=lots)
    events = feed(engine, minutes([3.5] * 30 + [1.0] * 15))
    final = events[-1]
    assert final.kind is AlertKind.TEMPERATURE and final.limit is not None
    if keep_minced:
        assert final.severity is Severity.CRITICAL and final.limit["max_c"] == 2.0
    else:
        # 3.5 °C is beyond 2 °C until 10:05 (a warning at once), then inside 4 °C: near
        # the limit, no alert, and the excursion ends; never critical
        assert {e.severity for e in events} == {Severity.WARNING}
        assert final.lot_ids == ("M", "P")
        assert final.event is EventType.RESOLVED and final.last_out_ms == T0 + 4 * MIN


def test_dropping_a_lot_afterwards_re_judges_the_zone():
    lots = [Lot("M", "minced_meat", T0 - 60 * MIN), Lot("P", "poultry_meat", T0 - 60 * MIN)]
    engine = engine_for("ambient", lots=lots)
    feed(engine, minutes([3.5] * 30))
    assert engine.records("loc-1")[0].severity is Severity.CRITICAL
    # the driver records afterwards that the minced meat left at T0 + 5 min
    corrected = [Lot("M", "minced_meat", T0 - 60 * MIN, T0 + 5 * MIN), lots[1]]
    events = engine.set_lots("loc-1", corrected, T0 + 31 * MIN)
    assert events and events[-1].severity is Severity.WARNING
    assert engine.records("loc-1")[0].severity is Severity.WARNING


def test_changing_a_cold_room_category_re_judges_its_retained_readings():
    engine = engine_for("chilled_retail", kind=LocationKind.COLD_ROOM)
    assert feed(engine, minutes([3.0] * 30)) == []  # fine at 7 °C
    events = engine.configure(config("minced_meat", LocationKind.COLD_ROOM), T0 + 31 * MIN)
    assert [(e.event, e.severity) for e in events] == [(EventType.OPENED, Severity.CRITICAL)]
    assert events[0].detected_late and events[0].start_ms == T0


def test_reconfiguring_after_hours_does_not_raise_old_alerts_again():
    engine = engine_for("minced_meat", interval_s=300)
    values = [0.5] * 3 + [3.0] * 5 + [0.5] * 100  # then 8 h of good readings, 5 min apart
    readings = minutes(values, step_ms=5 * MIN)
    events = feed(engine, readings)
    assert EventType.RESOLVED in {e.event for e in events}
    assert engine.check_silence(readings[-1].time_ms + MIN) == []
    changed = config("minced_meat", interval_s=300, door_open_max_min=8)
    assert engine.configure(changed, readings[-1].time_ms + 2 * MIN) == []


def test_limit_for_a_whole_planned_cargo():
    """The departure check's limit: every load planned for the zone, whatever its times."""
    profiles = load_profiles()
    mixed = limit_for_cargo(profiles, [("chilled_retail", None), ("minced_meat", None)])
    assert mixed is not None and mixed.max_c == 2.0  # Reg. 853/2004 Annex III Sec. V
    assert mixed.max_category == "minced_meat"
    labelled = limit_for_cargo(profiles, [("chilled_retail", 5.0)])
    assert labelled is not None and labelled.max_c == 5.0 and labelled.label_applied  # G-007
    ambient = limit_for_cargo(profiles, [("ambient", None)])
    assert ambient is not None and ambient.max_c is None
    assert limit_for_cargo(profiles, []) is None
    with pytest.raises(UnknownCategory):
        limit_for_cargo(profiles, [("unicorn_meat", None)])
