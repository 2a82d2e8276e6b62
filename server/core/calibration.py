"""The verification rule of a probe channel (EN 13486 procedure, EN 12830 accuracy): the
one place that says when a calibration passes.

Source: docs/sources.md#en-12830-recorders — EN 12830 recorders have a maximum error of
±1 °C (a secondary source quoting the 1999 edition; the classes of the 2018 edition are not
encoded); EN 13486 verifies a recorder against that accuracy. So a probe whose reading
differs from the reference instrument's by more than 1 °C fails its verification.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

ACCEPTANCE_LIMIT_C: Final = 1.0  # EN 12830 maximum error, docs/sources.md#en-12830-recorders
# Readings a verification can have: EN 12830 covers −80 °C…+85 °C (same section).
READING_MIN_C: Final = -80.0
READING_MAX_C: Final = 85.0
# How often a probe is verified at least (EN 13486 leaves the period to the operator): our
# HACCP choice, the industry practice of at least once a year (docs/sources.md#en-13486-
# periodic-verification, hardware/calibration.md "When"); the HACCP plan states it.
VERIFICATION_INTERVAL_MONTHS: Final = 12


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"


def verdict(reference_c: float, probe_c: float) -> Result:
    """Pass when the probe read within ±ACCEPTANCE_LIMIT_C of the reference instrument
    (the limit itself passes)."""
    error = abs(probe_c - reference_c)
    # Rounded to 0.001 °C so that 4.0 vs 5.0 (binary 0.9999…/1.0000…1) sits on the limit.
    return Result.PASS if round(error, 3) <= ACCEPTANCE_LIMIT_C else Result.FAIL


def is_overdue(next_due: date | None, today: date) -> bool:
    """Overdue from the day after `next_due` (a calendar day of the site); no due date recorded
    is not overdue (the register says so instead)."""
    return next_due is not None and next_due < today
