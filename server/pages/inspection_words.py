"""Words of the inspection export page: key -> (French, English), merged into i18n.WORDS."""

from __future__ import annotations

INSPECTION_WORDS: dict[str, tuple[str, str]] = {}
