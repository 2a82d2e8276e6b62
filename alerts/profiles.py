"""Product profiles: the legal limit per product category, its source, and our own choices.

The numbers live in `profiles.toml` next to this module, so the hygiene officer can read them
without reading code; this module loads and checks them. A bad file is refused as a whole
with a `ProfileError` naming the category and field, never half-loaded.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final

PROFILES_FILE: Final = "profiles.toml"


class ProfileError(ValueError):
    """The profile file is missing, malformed, or says something impossible."""


class Basis(StrEnum):
    LAW = "law"  # written in the cited legal text
    REFERENCE = "reference"  # a reference text that does not bind us (ATP)
    OURS = "ours"  # our own HACCP choice


class AppliesTo(StrEnum):
    PRODUCT_CORE = "product_core"
    AIR = "air"


CONFIDENCES: Final = frozenset({"Q", "S", "U", "ours"})


@dataclass(frozen=True, slots=True)
class Bound:
    value: float
    basis: Basis


@dataclass(frozen=True, slots=True)
class TransportTolerance:
    """Brief rises allowed in transport (frozen food): `value_c` above the limit, time-bounded."""

    value_c: float
    basis: Basis
    max_duration_min: float
    duration_basis: Basis


@dataclass(frozen=True, slots=True)
class LegalSource:
    """The text a limit comes from: regulation, then annex / article / point. `confidence` is
    for the maintainers (docs/sources.md#confidence-markers); documents print `cite()`."""

    regulation: str
    article: str
    confidence: str

    def cite(self) -> str:
        return f"{self.regulation}, {self.article}"


@dataclass(frozen=True, slots=True)
class HaccpChoices:
    """Margins and delays. The law gives no number for them: every one is our choice."""

    warning_margin_c: float
    low_warning_margin_c: float
    warning_delay_min: float
    critical_delay_min: float
    hard_margin_c: float
    clearance_margin_c: float
    clearance_min: float


@dataclass(frozen=True, slots=True)
class ProductProfile:
    code: str
    name_fr: str
    name_en: str
    applies_to: AppliesTo
    max: Bound | None
    min: Bound | None
    transport_tolerance: TransportTolerance | None
    source: LegalSource
    choices: HaccpChoices
    # Why the cooperative chose a number the law does not give (a bound or a duration whose
    # basis is "ours", or a "reference" value): printed next to « choix HACCP de la
    # coopérative ». Required for such a profile, empty otherwise.
    own_choice_reason: str = ""
    # How the cooperative applies the limit where the law leaves a point open, or where it
    # applies it more strictly than written (« la dérogation … n'est pas utilisée »).
    application: str = ""
    # The name in Dutch (nl-BE); empty in a profiles file that has none: French is shown.
    name_nl: str = ""
    # The reason and the application in Dutch and English; empty: the French is printed.
    own_choice_reason_nl: str = ""
    own_choice_reason_en: str = ""
    application_nl: str = ""
    application_en: str = ""

    def name(self, lang: str) -> str:
        """The category as people read it in `lang` (fr, nl or en; French otherwise)."""
        return {"en": self.name_en, "nl": self.name_nl or self.name_fr}.get(lang, self.name_fr)

    def reason(self, lang: str) -> str:
        """`own_choice_reason` in `lang` (fr, nl or en), French where it has no translation."""
        translated = {"nl": self.own_choice_reason_nl, "en": self.own_choice_reason_en}
        return translated.get(lang) or self.own_choice_reason

    def applied(self, lang: str) -> str:
        """`application` in `lang` (fr, nl or en), French where it has no translation."""
        translated = {"nl": self.application_nl, "en": self.application_en}
        return translated.get(lang) or self.application

    @property
    def max_c(self) -> float | None:
        return None if self.max is None else self.max.value

    @property
    def min_c(self) -> float | None:
        return None if self.min is None else self.min.value

    @property
    def temperature_controlled(self) -> bool:
        return self.max is not None or self.min is not None

    @property
    def own_choice(self) -> bool:
        """A number of this profile is the cooperative's choice, not the law's: a bound or
        the tolerance with basis "ours" or "reference", or the tolerance's duration."""
        bases = [b.basis for b in (self.max, self.min) if b is not None]
        if self.transport_tolerance is not None:
            bases += [self.transport_tolerance.basis, self.transport_tolerance.duration_basis]
        return any(basis is not Basis.LAW for basis in bases)

    @property
    def explanation(self) -> str:
        """The reason for our choice and how the limit is applied, for the records."""
        return " ".join(text for text in (self.own_choice_reason, self.application) if text)


_CHOICE_FIELDS: Final = tuple(HaccpChoices.__dataclass_fields__)
_CATEGORY_FIELDS: Final = frozenset(
    {
        "name_fr",
        "name_nl",
        "name_en",
        "applies_to",
        "max",
        "min",
        "transport_tolerance",
        "source",
        "own_choice_reason",
        "own_choice_reason_nl",
        "own_choice_reason_en",
        "application",
        "application_nl",
        "application_en",
    }
    | set(_CHOICE_FIELDS)
)


def _number(raw: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ProfileError(f"{where}: must be a finite number, got {raw!r}")
    if positive and raw < 0:
        raise ProfileError(f"{where}: must not be negative, got {raw!r}")
    return float(raw)


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ProfileError(f"{where}: must be a non-empty string")
    return raw


def _table(raw: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: must be a table")
    unknown = raw.keys() - allowed
    if unknown:
        raise ProfileError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    missing = required - raw.keys()
    if missing:
        raise ProfileError(f"{where}: missing field {sorted(missing)[0]!r}")
    return raw


def _basis(raw: Any, where: str) -> Basis:
    try:
        return Basis(raw)
    except ValueError:
        raise ProfileError(f"{where}: basis must be law, reference or ours") from None


def _bound(raw: Any, where: str) -> Bound:
    table = _table(raw, where, {"value", "basis"}, {"value", "basis"})
    return Bound(_number(table["value"], f"{where}.value"), _basis(table["basis"], where))


def _tolerance(raw: Any, where: str) -> TransportTolerance:
    keys = {"value", "basis", "max_duration_min", "duration_basis"}
    table = _table(raw, where, keys, keys)
    return TransportTolerance(
        value_c=_number(table["value"], f"{where}.value", positive=True),
        basis=_basis(table["basis"], where),
        max_duration_min=_number(
            table["max_duration_min"], f"{where}.max_duration_min", positive=True
        ),
        duration_basis=_basis(table["duration_basis"], f"{where}.duration_basis"),
    )


def _source(raw: Any, where: str) -> LegalSource:
    # No free "note": a maintainer's working note is a TOML comment, never a field that a
    # document could print (the HACCP plan prints every field of the source).
    keys = {"regulation", "article", "confidence"}
    table = _table(raw, where, keys, keys)
    confidence = table["confidence"]
    if confidence not in CONFIDENCES:
        raise ProfileError(f"{where}.confidence: one of {sorted(CONFIDENCES)}")
    return LegalSource(
        _text(table["regulation"], f"{where}.regulation"),
        _text(table["article"], f"{where}.article"),
        confidence,
    )


def _choices(raw: dict[str, Any], defaults: dict[str, float], where: str) -> HaccpChoices:
    values = {
        name: _number(raw[name], f"{where}.{name}", positive=True)
        if name in raw
        else defaults[name]
        for name in _CHOICE_FIELDS
    }
    return HaccpChoices(**values)


def _profile(code: str, raw: Any, defaults: dict[str, float]) -> ProductProfile:
    where = f"categories.{code}"
    table = _table(
        raw, where, set(_CATEGORY_FIELDS), {"name_fr", "name_en", "applies_to", "source"}
    )
    try:
        applies_to = AppliesTo(table["applies_to"])
    except ValueError:
        raise ProfileError(f"{where}.applies_to: product_core or air") from None
    high = _bound(table["max"], f"{where}.max") if "max" in table else None
    low = _bound(table["min"], f"{where}.min") if "min" in table else None
    if high is not None and low is not None and low.value >= high.value:
        raise ProfileError(f"{where}: min must be below max")
    tolerance = None
    if "transport_tolerance" in table:
        if high is None:
            raise ProfileError(f"{where}.transport_tolerance needs a max")
        tolerance = _tolerance(table["transport_tolerance"], f"{where}.transport_tolerance")
    profile = ProductProfile(
        code=code,
        name_fr=_text(table["name_fr"], f"{where}.name_fr"),
        name_en=_text(table["name_en"], f"{where}.name_en"),
        applies_to=applies_to,
        max=high,
        min=low,
        transport_tolerance=tolerance,
        source=_source(table["source"], f"{where}.source"),
        choices=_choices(table, defaults, where),
        own_choice_reason=_optional_text(table, "own_choice_reason", where),
        application=_optional_text(table, "application", where),
        name_nl=_optional_text(table, "name_nl", where),
        own_choice_reason_nl=_optional_text(table, "own_choice_reason_nl", where),
        own_choice_reason_en=_optional_text(table, "own_choice_reason_en", where),
        application_nl=_optional_text(table, "application_nl", where),
        application_en=_optional_text(table, "application_en", where),
    )
    if profile.own_choice and not profile.own_choice_reason:
        raise ProfileError(
            f"{where}: a number is our choice (basis ours or reference): "
            "own_choice_reason must say why"
        )
    return profile


def _optional_text(table: dict[str, Any], name: str, where: str) -> str:
    return _text(table[name], f"{where}.{name}") if name in table else ""


def parse_profiles(text: str) -> dict[str, ProductProfile]:
    """Parse and check the TOML text of a profile file."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile file is not valid TOML: {exc}") from None
    _table(
        doc,
        "profile file",
        {"version", "defaults", "categories"},
        {"version", "defaults", "categories"},
    )
    if doc["version"] != 1:
        raise ProfileError(f"unsupported profile file version {doc['version']!r}")
    raw_defaults = _table(doc["defaults"], "defaults", set(_CHOICE_FIELDS), set(_CHOICE_FIELDS))
    defaults = {k: _number(v, f"defaults.{k}", positive=True) for k, v in raw_defaults.items()}
    categories = doc["categories"]
    if not isinstance(categories, dict) or not categories:
        raise ProfileError("categories: at least one category is needed")
    return {code: _profile(code, raw, defaults) for code, raw in categories.items()}


def load_profiles(path: Path | None = None) -> dict[str, ProductProfile]:
    """Load the packaged profiles (or the file at `path`), keyed by category code."""
    try:
        if path is None:
            text = resources.files("alerts").joinpath(PROFILES_FILE).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile file: {exc}") from None
    return parse_profiles(text)
