"""What every `coldchain` command does first: read the settings, or stop with the
configuration's problems in plain words (exit status 2), and set the process's clock and
time zone from them, so that no command prints or judges a time before that."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import ValidationError

from coldchain import clock
from coldchain.settings import Settings, load_settings


def settings_or_exit(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ValidationError as exc:
        print(f"coldchain: invalid configuration:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    clock.configure(settings.clock)
    return settings
