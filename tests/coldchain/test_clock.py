"""The system clock: real time, or the demo's accelerated clock that meets real time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from coldchain import clock
from coldchain.settings import ClockSettings, Settings


@pytest.fixture(autouse=True)
def _real_clock_after() -> Iterator[None]:
    yield
    clock.configure(ClockSettings())


def test_left_alone_it_is_the_real_clock() -> None:
    clock.configure(ClockSettings())
    before = time.time()
    assert before - 0.01 <= clock.now_s() <= time.time() + 0.01
    assert not clock.accelerated()


def test_the_demo_clock_starts_in_the_past_runs_fast_and_meets_real_time() -> None:
    real_now = time.time()
    meets = real_now + 60  # a 60 x day of one hour: one real minute left
    clock.configure(ClockSettings(speed=60, meets_real_at=meets))
    assert clock.accelerated()
    assert clock.now_s() == pytest.approx(meets - 3600, abs=1)  # an hour before the meeting
    assert clock.utcnow().timestamp() <= time.time()  # never in the future
    # After the meeting point it is real time, seamlessly.
    assert clock.simulated(meets, 60, meets) == meets
    assert clock.simulated(meets + 5, 60, meets) == meets + 5


@given(
    st.floats(1.0, 10_000.0),
    st.floats(1.6e9, 2.0e9),
    st.floats(0.0, 1e5),
    st.floats(0.0, 1e5),
)
def test_monotone_never_ahead_of_real_time_and_speed_times_faster(
    speed: float, meets: float, before: float, step: float
) -> None:
    t1 = meets - before - step
    t2 = meets - before
    a, b = clock.simulated(t1, speed, meets), clock.simulated(t2, speed, meets)
    assert a <= b <= t2 + 1e-6
    assert b - a == pytest.approx(step * speed, rel=1e-6, abs=1e-3)


def test_production_refuses_an_accelerated_clock() -> None:
    with pytest.raises(ValidationError, match=r"clock\.speed"):
        Settings(
            mode="production",
            server={"secret_key": "x" * 40},
            clock={"speed": 60, "meets_real_at": time.time() + 60},
        )
