"""Words of the admin forms: key -> (French, English), merged into i18n.WORDS."""

from __future__ import annotations

ADMIN_WORDS: dict[str, tuple[str, str]] = {}
