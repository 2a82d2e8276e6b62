"""Words of the producer's lots page: key -> (French, English), merged into i18n.WORDS."""

from __future__ import annotations

LOT_WORDS: dict[str, tuple[str, str]] = {}
