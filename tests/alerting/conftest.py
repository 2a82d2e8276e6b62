"""Fixtures: a real SMTP server (aiosmtpd) and the alert site (tests/alerting/support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerting.support import Inbox, Site, build_site, settings_for, start_smtp
from tests.harness.servers import Mosquitto


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller, inbox = start_smtp()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def site(tmp_path: Path, mosquitto: Mosquitto, smtp: tuple[int, Inbox]) -> Iterator[Site]:
    settings = settings_for(tmp_path, mosquitto.port, smtp[0], escalation_after_min=60)
    yield from build_site(settings)
