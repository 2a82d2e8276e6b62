"""A real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium.

Nothing is downloaded: the browser and driver are the system packages
(scripts/install-system-packages). One browser per session (tests/pages/conftest.py):
starting it takes about a second; `forget` gives each user of it a browser that remembers
nothing of the one before."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root in CI containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextmanager
def chromium(
    lang: str = "fr-BE", width: int = 1280, height: int = 900
) -> Iterator[webdriver.Chrome]:
    """A fresh profile each time (no cookies or cache from an earlier run)."""
    profile = tempfile.mkdtemp(prefix="coldchain-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--lang={lang}")
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def forget(
    browser: webdriver.Chrome, origins: list[str], width: int = 1280, height: int = 900
) -> None:
    """Leave the browser as a new profile would be: one blank tab of the first size, no
    cookie, no cache, nothing stored by `origins` (local storage, IndexedDB, service workers)."""
    for handle in browser.window_handles[1:]:
        browser.switch_to.window(handle)
        browser.close()
    browser.switch_to.window(browser.window_handles[0])
    browser.get("about:blank")
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    for origin in origins:
        browser.execute_cdp_cmd(
            "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
        )
    if browser.get_window_size() != {"width": width, "height": height}:
        browser.set_window_size(width, height)
