"""Accessibility: axe-core (served from this machine, never a CDN) on each role's pages in
real Chromium, in every language the pages speak. No serious or critical violation.

axe-core comes from npm into .cache/npm (scripts/test installs it; the suite fails without
it rather than skip). What axe checks automatically is a part of accessibility (contrast,
names of controls and images, labels, landmarks, language of the page); keyboard use and
screen-reader reading of the live views are still to be tried by a person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pages.conftest import Pages

AXE = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "axe-core"
AXE_JS = AXE / "axe.min.js"

# Each role's pages, as its menu gives them, and the pages they lead to first.
ROLE_PAGES = {
    "driver_a": ["/driver", "/deliveries"],
    "producer1": ["/producer", "/lots"],
    "hygiene_a": ["/hygiene", "/inspection"],
    "admin_a": ["/admin", "/admin/probes/new"],
}


def _violations(pages: Pages) -> list[dict[str, object]]:
    pages.browser.execute_script(AXE_JS.read_text())
    result = pages.browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify(String(e))));"
    )
    found = json.loads(result)
    assert isinstance(found, list), found
    return found


def test_axe_runs_and_finds_a_planted_violation(pages: Pages) -> None:
    """The check can fail: an image with no text alternative planted on a real page is
    reported (axe's `image-alt`, critical)."""
    pages.browser.set_script_timeout(60)
    pages.login("driver_a")
    pages.open("/driver")
    assert not any(v["id"] == "image-alt" for v in _violations(pages))
    pages.browser.execute_script(
        "const img = document.createElement('img'); img.src = '/static/pages.css';"
        "document.querySelector('main').appendChild(img);"
    )
    planted = [v for v in _violations(pages) if v["id"] == "image-alt"]
    assert planted and planted[0]["impact"] == "critical"


@pytest.mark.parametrize("lang", ["fr", "nl"])  # the two languages of Belgium's inspectors
def test_no_serious_accessibility_violation(pages: Pages, lang: str) -> None:
    assert AXE_JS.exists(), "axe-core missing: scripts/test installs it with npm"
    pages.browser.set_script_timeout(60)
    serious: dict[str, list[str]] = {}
    for user, paths in ROLE_PAGES.items():
        pages.login(user)
        for path in paths:
            pages.open(f"{path}?lang={lang}")
            for violation in _violations(pages):
                if violation.get("impact") in ("serious", "critical"):
                    nodes = violation.get("nodes", [])
                    assert isinstance(nodes, list)
                    where = [str(node.get("target")) for node in nodes][:3]
                    serious.setdefault(f"{user} {path}", []).append(
                        f"{violation['id']} ({violation['impact']}): {violation['help']} {where}"
                    )
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
