"""« Mon camion maintenant » stays true while it is open (static/live.js, server/pages/
live_pages.py), in a real Chromium on a phone-sized window:

- the banner holds only the alerts still going on, says the severity with an icon and words
  (a warning is not red, a critical one is), and its elapsed time moves on;
- an old last reading says so (« données de il y a 6 min »), a silent probe is named, and
  both notices go once readings come back;
- the door shows open while it is open, with the door warning, and neither once it is shut;
- once the delivery is closed the van's zones and probes are still there.

Readings go into the real reading store and through the real rules engine and recording
(as the alert worker does: server/alerting/places.py, event_writer.py); time moves on by
shifting the server's clock (coldchain/clock.py), which the pages and the API read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

from coldchain.protocol import Reading
from server.domain.place_readings import to_ms
from tests.alerting.support import PROBE
from tests.harness import browser as chromium
from tests.pages.conftest import FormBrowser, Pages, served
from tests.pages.live_support import MIN, Shifted, Van
from tests.server.world import BRUSSELS, iso

RED = "rgb(163, 0, 0)"  # .banner.sev-critical (static/pages.css)


@pytest.fixture
def van_pages(
    tmp_path_factory: pytest.TempPathFactory,
    shared_chromium: chromium.SharedChromium,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Pages, Van, Shifted]]:
    time = Shifted(monkeypatch)
    # These tests span from 31 minutes before now to 20 minutes after, and the pages show
    # hours of the same Brussels day: near midnight the server's clock is moved an hour on.
    local = time.now().astimezone(BRUSSELS)
    since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    if since_midnight < 31 * MIN or since_midnight > timedelta(days=1) - 20 * MIN:
        time.start = time.offset = timedelta(hours=1)
    with served(tmp_path_factory, shared_chromium, seed=False) as pages:
        pages.browser.set_window_size(390, 844)  # a phone
        try:
            yield pages, Van(pages.site, time), time
        finally:
            pages.browser.set_window_size(1280, 900)


def part(pages: Pages, css: str) -> str:
    """The text of an element of the page now ("" while it is not there)."""
    try:
        return str(pages.browser.find_element(By.CSS_SELECTOR, css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def banners(pages: Pages) -> list[str]:
    try:
        found = pages.browser.find_elements(By.CSS_SELECTOR, "#live-alerts .banner")
        return [str(b.text) for b in found]
    except StaleElementReferenceException:
        return ["(changing)"]


def hour(t: datetime) -> str:
    return t.astimezone(BRUSSELS).strftime("%H:%M")


def often(pages: Pages) -> None:
    """Refresh every second instead of every 20 (static/live.js reads it at each tick)."""
    pages.browser.execute_script("document.getElementById('live').dataset.liveEvery = '1'")


def test_banner_by_severity_elapsed_time_old_data_and_silent_probe(
    van_pages: tuple[Pages, Van, Shifted],
) -> None:
    pages, van, time = van_pages
    t0 = time.now().replace(microsecond=0)
    # 3 °C, then 6.5 °C for 8 minutes: over the label's 6 °C (lot LT on board), a warning.
    van.send(t0 - 30 * MIN, [3.0] * 22)
    van.send(t0 - 8 * MIN, [6.5] * 8)
    [alert] = van.alerts()
    assert (alert.kind, alert.severity, alert.engine_status) == (
        "temperature_excursion",
        "warning",
        "open",
    )
    pages.login("driver_a")
    pages.open("/driver")
    pages.browser.execute_script("window.notReloaded = true")
    [banner] = banners(pages)
    assert "▲ Avertissement — Température hors limite · Fourgon 1 — frais" in banner
    assert "depuis 8 min" in banner and "Pic 6,5 °C pour une limite de 6,0 °C" in banner
    assert "État : ouverte" in banner and "Voir et agir" in banner
    element = pages.browser.find_element(By.CSS_SELECTOR, "#live-alerts .banner")
    assert element.get_attribute("role") is None  # a warning does not interrupt: not role=alert
    assert element.value_of_css_property("background-color") != RED  # not red for a warning
    zone = part(pages, ".zone")
    assert "6,5 °C" in zone and "✖ Au-dessus de la limite" in zone and "≤ 6,0 °C" in zone
    assert "avertissement — Température hors limite depuis 8 min" in zone
    assert f"{PROBE} : dernier relevé {hour(t0 - MIN)}" in zone
    assert "données de il y a" not in zone  # fresh
    pages.shot("driver-van-warning-phone", whole=True)

    # Five minutes later, nothing new from the probe: the time moves on, the data are old.
    time.offset = time.start + 5 * MIN
    often(pages)
    pages.wait_for(lambda: "depuis 13 min" in " ".join(banners(pages)))
    assert "données de il y a 6 min" in banners(pages)[0]
    zone = part(pages, ".zone")
    assert f"◷ données de il y a 6 min ({hour(t0 - MIN)})" in zone
    assert "✖ Au-dessus de la limite" in zone  # still the last word of the probe, with its age

    # Twelve minutes: the probe is silent (the engine's rule, 10 min): said by the zone and
    # by the worker's probe-silent alert, a warning beside the temperature one.
    time.offset = time.start + 12 * MIN
    van.silence()
    pages.wait_for(lambda: "Sonde silencieuse" in " ".join(banners(pages)))
    zone = part(pages, ".zone")
    assert "? Pas de mesure récente" in zone
    assert f"⚠ silencieuse depuis {hour(t0 - MIN)}" in zone
    pages.shot("driver-van-probe-silent-phone", whole=True)

    # The readings come back, at 3 °C for 11 minutes: both alerts are over, both notices go.
    now = time.now().replace(second=0, microsecond=0)
    van.send(now - 11 * MIN, [3.0] * 11)
    assert [(a.kind, a.engine_status) for a in van.alerts()] == [
        ("temperature_excursion", "closed"),
        ("probe_offline", "closed"),
    ]
    pages.wait_for(lambda: banners(pages) == [])
    pages.wait_for(lambda: "silencieuse" not in part(pages, ".zone"))
    zone = part(pages, ".zone")
    assert "3,0 °C" in zone and "✓ Conforme" in zone and "données de il y a" not in zone
    rows = part(pages, ".alert-list")
    assert "✓ Excursion terminée le" in rows and "✓ Sonde revenue le" in rows
    assert f"la sonde {PROBE} n'a rien envoyé de {hour(t0 - MIN)} à" in rows
    assert "n'envoie plus rien" not in rows  # the engine's text, false once it is back
    assert pages.browser.execute_script("return window.notReloaded") is True

    # The server out of reach (a van out of coverage): the page says what it shows is old.
    pages.browser.execute_script(
        "window.fetch = function () { return Promise.reject(new Error('offline')); };"
        "window.coldchainLive.refresh();"
    )
    offline = pages.browser.find_element(By.ID, "live-offline")
    pages.wait_for(offline.is_displayed)
    assert offline.text.startswith("⚠ Mise à jour impossible (connexion ?) : ce qui est affiché")
    assert re.search(r"date de \d\d:\d\d\.$", offline.text)


def test_door_open_while_open_and_the_van_after_the_delivery_closes(
    van_pages: tuple[Pages, Van, Shifted],
) -> None:
    pages, van, time = van_pages
    t0 = time.now().replace(microsecond=0)
    van.send(t0 - 30 * MIN, [3.0] * 23)  # until 8 minutes ago
    van.door(t0 - 7 * MIN - timedelta(seconds=30), True)  # opened at a stop
    van.send(t0 - 7 * MIN, [3.0] * 7)  # every reading shows the door still open
    [door] = van.alerts()
    assert (door.kind, door.severity, door.engine_status) == ("door_open", "warning", "open")
    pages.login("driver_a")
    pages.open("/driver")
    pages.browser.execute_script("window.notReloaded = true")
    opened = hour(t0 - 7 * MIN - timedelta(seconds=30))
    assert f"◧ Porte ouverte depuis {opened} (7 min)" in part(pages, ".zone")
    [banner] = banners(pages)
    assert "▲ Avertissement — Porte ouverte · Fourgon 1 — frais" in banner
    assert "depuis 7 min" in banner and "Pic" not in banner  # no temperature for a door
    pages.shot("driver-van-door-open-phone", whole=True)

    often(pages)
    van.door(t0 - timedelta(seconds=20), False)  # shut
    pages.wait_for(lambda: banners(pages) == [])
    assert "Porte ouverte" not in part(pages, ".zone")
    assert "✓ Porte refermée le" in part(pages, ".alert-list")

    # Eight minutes later the zone has warmed to 6.5 °C for 7 minutes: a warning going on
    # when the driver hands the last lot over and closes the delivery.
    time.offset = time.start + 8 * MIN
    van.send(t0 + MIN, [6.5] * 7)
    pages.wait_for(lambda: "Température hors limite" in " ".join(banners(pages)))
    site, driver = van.site, van.site.world["driver_a"]
    url = f"/api/v1/deliveries/{site.delivery_id}"
    handover = {"at": iso(time.now()), "decisions": [{"load_id": site.load_id, "accepted": True}]}
    driver.ok("POST", f"{url}/stops/{site.ids['A_drop']}/handover", handover, 201)
    driver.ok("POST", f"{url}/close", {"closed_at": iso(time.now())})
    van.refresh()  # the lot is off the van: the zone's limit is its own again
    pages.wait_for(lambda: "✔ Clôturée" in part(pages, ".truck"))
    truck = part(pages, ".truck")
    assert "Fourgon 1" in truck and "frais" in truck and PROBE in truck  # zones and probes
    assert "Livraison clôturée à" in truck and "d'avant la clôture" in truck
    # Its last reading, taken with the lot on board, judged as the engine did: over 6 °C.
    assert "6,5 °C" in truck and "≤ 6,0 °C" in truck and "✖ Au-dessus de la limite" in truck
    assert "Revenue dans la limite" not in truck
    [banner] = banners(pages)  # the warning goes on after the delivery: still told
    assert "▲ Avertissement — Température hors limite" in banner and "depuis 7 min" in banner
    pages.shot("driver-van-after-close-warning-phone", whole=True)

    # Twenty minutes on, the probe still records: the driver no longer sees the van's
    # readings after the closing, which does not make the probe silent.
    time.offset = time.start + 28 * MIN
    van.send(t0 + 9 * MIN, [4.0] * 19)  # up to a minute ago
    pages.wait_for(lambda: "données de il y a" in part(pages, ".truck"))
    truck = part(pages, ".truck")
    assert "silencieuse" not in truck, truck
    assert f"{PROBE} : dernier relevé {hour(t0 + 7 * MIN)}" in truck, truck
    assert "4,0 °C" not in truck  # what it records now is not the driver's to see
    assert pages.browser.execute_script("return window.notReloaded") is True


def test_the_producer_sees_the_probe_silent_then_back(
    tmp_path_factory: pytest.TempPathFactory, shared_chromium: chromium.SharedChromium
) -> None:
    """Over HTTP, the parts static/live.js asks for: the room's probe silent for 15 minutes
    is said so, and no longer once a reading arrives; the parts are the role's only."""
    with served(tmp_path_factory, shared_chromium, seed=False) as pages:
        site = pages.site
        store = site.app.state.reading_store
        t0 = datetime.now(UTC).replace(microsecond=0)
        store.write(
            Reading("cr1", "air", to_ms(t0 - (45 - m) * MIN), m + 1, 3.5) for m in range(30)
        )
        producer = FormBrowser(site.app, "producer1")
        silent = producer.get("/live/producer")
        assert silent.status_code == 200 and silent.headers["X-Live-Parts"] == "1"
        assert silent.headers["Cache-Control"] == "no-store"
        assert 'data-live-part="banner"' in silent.text and 'data-live-part="alerts"' in silent.text
        assert f"⚠ silencieuse depuis {hour(t0 - 16 * MIN)}" in silent.text
        assert "Pas de mesure récente" in silent.text
        assert "données de il y a 16 min" in silent.text
        store.write([Reading("cr1", "air", to_ms(t0), 99, 3.6)])
        back = producer.get("/live/producer").text
        assert "silencieuse" not in back and "données de il y a" not in back
        assert "3,6 °C" in back and "status-ok" in back and "Conforme" in back
        assert producer.get("/producer").text.count('data-live-part="room-') == 1
        # Each role its own parts; signed out, the login page (live.js then says it).
        assert FormBrowser(site.app, "driver_a").get("/live/producer").status_code == 403
        assert producer.get("/live/driver").status_code == 403
        anonymous = TestClient(site.app).get("/live/banner", follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


def test_the_banner_says_each_severity_in_words_and_only_critical_is_an_alarm(
    tmp_path_factory: pytest.TempPathFactory,
    shared_chromium: chromium.SharedChromium,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quick-frozen goods on board (-18 °C; +3 °C tolerated briefly in transport): -16 °C is a
    tolerated rise, not an alarm; -10 °C is beyond the tolerance by more than the hard
    margin, critical at once: the alarm, red and role="alert". The zone's status says the
    same, in French and in English."""
    with served(
        tmp_path_factory,
        shared_chromium,
        seed=False,
        cargo=(("quick_frozen", None),),
        departure_c=-20.0,
    ) as pages:
        van = Van(pages.site, Shifted(monkeypatch))
        driver = FormBrowser(pages.site.app, "driver_a")
        t0 = datetime.now(UTC).replace(microsecond=0)
        van.send(t0 - 20 * MIN, [-20.0] * 15 + [-16.0] * 5)
        # Recorded as « tolerated » or not raised at all (the engine's policy: docs/alerts.md),
        # a tolerated rise is never an alarm: no red banner, the words say what it is.
        assert [a.severity for a in van.alerts()] in ([], ["tolerated"])
        page = driver.get("/live/driver").text
        assert "sev-critical" not in page and 'role="alert"' not in page
        for banner in re.findall(r'<div class="banner sev-.*?</div>', page, re.S):
            assert "sev-tolerated" in banner and "◆</span> Écart toléré (transport)" in banner
        assert "Au-dessus, dans la tolérance de transport" in page  # the zone, judged alike
        van.send(t0, [-10.0])
        [alert] = van.alerts()
        assert (alert.severity, alert.engine_status) == ("critical", "open")
        page = driver.get("/live/driver").text
        [banner] = re.findall(r'<div class="banner sev-critical".*?</div>', page, re.S)
        assert 'role="alert"' in banner and "✖</span> ALARME — critique</strong>" in banner
        assert "Pic -10,0 °C pour une limite de -18,0 °C" in banner
        assert "✖</span> Au-dessus de la limite" in page
        driver.client.cookies.set("coldchain_lang", "en")
        english = driver.get("/live/driver").text
        assert "ALARM — critical" in english and "Peak -10.0 °C for a limit of -18.0 °C" in english
