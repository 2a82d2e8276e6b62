"""Where each limit of alerts/profiles.toml comes from, as the documents print it: the
structured source fields (`source`, `own_choice_reason`, `application`), never a free
working note (those are TOML comments)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alerts.profiles import Basis, ProfileError, load_profiles, parse_profiles
from tests.support.documents import WORKING_NOTES

GOOD = Path(__file__).parents[2] / "alerts" / "profiles.toml"


def test_no_printed_field_holds_a_working_note() -> None:
    for code, profile in load_profiles().items():
        printed = " ".join((profile.source.cite(), profile.own_choice_reason, profile.application))
        for marker in WORKING_NOTES:
            assert not re.search(marker, printed, re.IGNORECASE), (code, marker)


def test_every_number_of_ours_says_why() -> None:
    profiles = load_profiles()
    for code, profile in profiles.items():
        bases = {b.basis for b in (profile.max, profile.min) if b is not None}
        if profile.transport_tolerance is not None:
            bases.add(profile.transport_tolerance.duration_basis)
        assert profile.own_choice == (bases - {Basis.LAW} != set()), code
        assert bool(profile.own_choice_reason) == profile.own_choice, code
    assert profiles["fresh_fishery"].own_choice and profiles["shell_eggs"].own_choice
    assert profiles["ice_cream"].own_choice  # a reference value is our choice to use it
    assert profiles["quick_frozen"].own_choice  # the tolerance's 30 minutes
    assert not profiles["minced_meat"].own_choice
    assert "2024/1141" in profiles["fresh_meat_ungulates"].application  # derogation not used
    assert profiles["minced_meat"].explanation == ""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (  # a free note in the source: refused, write it as a comment
            lambda t: t.replace('confidence = "Q" }', 'confidence = "Q", note = "à relire" }', 1),
            "unknown field 'note'",
        ),
        (  # a number of ours without its reason
            lambda t: re.sub(r'\nown_choice_reason = "Aucun chiffre[^\n]*', "", t),
            "own_choice_reason must say why",
        ),
        (  # an empty field
            lambda t: re.sub(r'application = "La dérogation[^"]*"', 'application = ""', t),
            "non-empty",
        ),
    ],
)
def test_a_profile_without_a_clean_source_is_refused(edit, message) -> None:
    text = edit(GOOD.read_text(encoding="utf-8"))
    with pytest.raises(ProfileError, match=message):
        parse_profiles(text)
