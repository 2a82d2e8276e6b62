"""What every `coldchain` command does first: read the settings, or stop with the
configuration's problems in plain words (exit status 2), and set the process's clock and
time zone from them, so that no command prints or judges a time before that."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from coldchain import clock
from coldchain.settings import Settings, load_settings


class ConfigurationRefused(Exception):
    """The settings are invalid; `coldchain` prints why and exits with status 2."""


def settings_or_exit(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ValidationError as exc:
        raise ConfigurationRefused(f"invalid configuration:\n{exc}") from None
    clock.configure(settings.clock)
    return settings
