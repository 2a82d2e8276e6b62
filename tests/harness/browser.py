"""A real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium.

Nothing is downloaded: the browser and driver are the system packages
(scripts/install-system-packages). One browser per session (tests/pages/conftest.py):
starting it takes about a second; `SharedChromium.clean` gives each user of it a browser
that remembers nothing of the one before."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import urllib3
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
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


def _start(lang: str, width: int, height: int) -> tuple[webdriver.Chrome, str]:
    """A Chromium on a fresh profile (no cookies or cache from an earlier run), and that
    profile's folder."""
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
    return browser, profile


@contextmanager
def chromium(
    lang: str = "fr-BE", width: int = 1280, height: int = 900
) -> Iterator[webdriver.Chrome]:
    """A fresh profile each time (no cookies or cache from an earlier run)."""
    browser, profile = _start(lang, width, height)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


# What a browser that stopped answering raises: ChromeDriver's answer timed out (120 s, set
# by Selenium for Chromium) or its connection failed.
UNANSWERED = (WebDriverException, urllib3.exceptions.HTTPError)
FORGET_WITHIN_S = 60.0  # a forget takes well under a second; a loaded machine, a few


class SharedChromium:
    """One Chromium for many tests (starting one takes about a second), each user getting it
    as a new profile would be (`clean`) and giving it back (`release`).

    ChromeDriver once stopped answering in CI: every command, `quit` too, timed out after
    120 s, and every later page test of that worker failed with it. So a browser that does
    not answer is abandoned (its processes killed, a warning given) and the next `clean`
    starts another: the tests that follow still run in a real browser."""

    def __init__(self, lang: str = "fr-BE", width: int = 1280, height: int = 900) -> None:
        self._options = (lang, width, height)
        self._browser: webdriver.Chrome | None = None
        self._profile: str | None = None

    def clean(self) -> webdriver.Chrome:
        """The browser as a new profile would be (a new browser if the last one was abandoned)."""
        if self._browser is not None and self._forgets([]):
            return self._browser
        self._browser, self._profile = _start(*self._options)
        return self._browser

    def release(self, origins: list[str]) -> None:
        """Forget what `origins` stored; a browser that does not answer is abandoned."""
        if self._browser is not None:
            self._forgets(origins)

    def _forgets(self, origins: list[str]) -> bool:
        """`forget` within FORGET_WITHIN_S, else the browser is abandoned. In a thread: a hung
        ChromeDriver holds Selenium's call far longer than its 120 s timeout (its HTTP
        client retries), and killing ChromeDriver ends the call."""
        browser, failed = self._browser, []
        assert browser is not None

        def run() -> None:
            try:
                forget(browser, origins, *self._options[1:])
            except BaseException as exc:  # handed to the caller below, none swallowed
                failed.append(exc)

        worker = threading.Thread(target=run, name="chromium-forget", daemon=True)
        worker.start()
        worker.join(FORGET_WITHIN_S)
        if worker.is_alive():
            self._abandon(TimeoutError(f"no answer in {FORGET_WITHIN_S} s"))
            return False
        if failed and isinstance(failed[0], UNANSWERED):
            self._abandon(failed[0])
            return False
        if failed:
            raise failed[0]
        return True

    def close(self) -> None:
        if self._browser is not None:
            self._browser.quit()
            self._browser = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _abandon(self, exc: BaseException) -> None:
        assert self._browser is not None and self._profile is not None
        warnings.warn(
            f"Chromium stopped answering ({exc!r:.300}): a new one is started", stacklevel=3
        )
        process = self._browser.service.process
        if process is not None:
            process.kill()  # ChromeDriver; its Chromium is found by its profile folder
        subprocess.run(["pkill", "-KILL", "-f", f"user-data-dir={self._profile}"], check=False)
        shutil.rmtree(self._profile, ignore_errors=True)
        self._browser = self._profile = None


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
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})  # a test's blocked URLs
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    for origin in origins:
        browser.execute_cdp_cmd(
            "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
        )
    if browser.get_window_size() != {"width": width, "height": height}:
        browser.set_window_size(width, height)
