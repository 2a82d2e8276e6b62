"""The layering contracts (pyproject.toml, checked by `lint-imports` in scripts/test) name
the shared core's modules one by one: a new module of `coldchain/` must be placed in the
core or in the composition root, or the contracts would not see it."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import coldchain

REPO = Path(__file__).resolve().parents[2]
ROOT = {"coldchain.cli", "coldchain.commands", "coldchain.demo", "coldchain.supervisor"}


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def test_every_module_of_the_shared_core_is_under_a_contract() -> None:
    core = next(c for c in contracts() if str(c["name"]).startswith("The shared core"))
    listed = set(core["source_modules"])  # type: ignore[call-overload]
    assert ROOT <= set(core["forbidden_modules"])  # type: ignore[call-overload]
    modules = {f"coldchain.{m.name}" for m in pkgutil.iter_modules(coldchain.__path__)}
    unplaced = modules - listed - ROOT
    assert not unplaced, f"place these in pyproject.toml's core contract or the root: {unplaced}"
    assert not listed - modules, "the core contract names modules that no longer exist"
