"""Words of the driver's delivery page (stops, departure check, handovers):
key -> (French, English), merged into i18n.WORDS."""

from __future__ import annotations

DELIVERY_WORDS: dict[str, tuple[str, str]] = {}
