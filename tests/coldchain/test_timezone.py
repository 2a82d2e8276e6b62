"""One time-zone setting, `[clock] timezone`, read by every place a time is shown."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from coldchain import clock
from coldchain.settings import ClockSettings
from server.records.timefmt import local


@pytest.fixture
def tokyo():
    clock.configure(ClockSettings(timezone="Asia/Tokyo"))
    yield
    clock.configure(ClockSettings())


def test_the_default_zone_is_brussels_with_its_clock_changes():
    clock.configure(ClockSettings())
    assert clock.zone().key == "Europe/Brussels"
    # The last Sunday of March has 23 hours in Brussels, the last of October 25.
    assert clock.day_start(date(2026, 3, 30)) - clock.day_start(date(2026, 3, 29)) == (
        datetime(2026, 3, 30, 0) - datetime(2026, 3, 29, 1)
    )
    assert clock.day_start(date(2026, 10, 25)) == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert clock.day_start(date(2026, 10, 26)) == datetime(2026, 10, 25, 23, tzinfo=UTC)


@pytest.mark.usefixtures("tokyo")
def test_the_configured_zone_reaches_what_people_read():
    moment = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)
    assert local(moment) == "07/12/2026 05:30"  # a document's time
    assert clock.today(moment) == date(2026, 12, 7)  # a delivery's or calibration's day
    assert clock.day_start(date(2026, 12, 7)) == datetime(2026, 12, 6, 15, tzinfo=UTC)


def test_an_unknown_zone_is_refused_in_french():
    with pytest.raises(ValidationError, match="fuseau horaire inconnu"):
        ClockSettings(timezone="Europe/Bruxelles")
