"""Registering a probe from the admin page gives it its broker account and, once, what to put
on it (server/pages/admin_probes.py, coldchain/provisioning.py): on a real Mosquitto that this
system manages, configured by coldchain/broker.py with the TLS listener and the certificate
authority of coldchain/certificates.py, as `coldchain up --lan` runs it (bound to loopback
here). Over HTTP through the pages' forms first, then the whole path in a real Chromium: from
an empty database to a probe registered, its provisioning file downloaded, and the real
firmware (MicroPython unix port; only the board is simulated) given that file's config.json
and ca.pem, whose first reading goes through the real gateway and shows on the probe's page."""

from __future__ import annotations

import base64
import html
import io
import json
import queue
import re
import ssl
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from coldchain import broker, certificates
from coldchain.settings import GatewaySettings, MqttSettings, Settings
from gateway.app import Gateway
from server.app import create_app
from server.core.models import Probe
from server.domain.accounts import create_superuser
from tests.alerting.support import HttpServer, settings_for
from tests.firmware.conftest import SimProbe, scenario
from tests.harness import browser as chromium
from tests.harness.servers import MicroPython, Server, free_port, require_binary
from tests.pages.conftest import FormBrowser
from tests.server.world import PASSWORD, As, login
from tests.support.waiting import wait_until

DATA_URL = re.compile(
    r'id="provisioning-file" download="([^"]+)" href="data:application/zip;base64,([^"]+)"'
)


@dataclass
class Site:
    app: FastAPI
    settings: Settings
    files: broker.BrokerFiles
    tls_port: int
    owner_id: int


def unzip(encoded: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def download(page: str) -> tuple[str, dict[str, bytes]]:
    """The provisioning file offered by the page: its name and its files."""
    found = DATA_URL.search(page)
    assert found is not None, "no provisioning file in the page"
    return found.group(1), unzip(html.unescape(found.group(2)))


def password_of(page: str) -> str:
    found = re.search(r'<code id="prov-password">([^<]+)</code>', page)
    assert found is not None
    return html.unescape(found.group(1))


def connect_result(port: int, user: str, password: str, ca: bytes, tmp: Path) -> int:
    """What the broker answers a probe connecting over TLS with these credentials and CA."""
    ca_file = tmp / f"ca-{user}.pem"
    ca_file.write_bytes(ca)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user)
    client.username_pw_set(user, password)
    client.tls_set(ca_certs=str(ca_file), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    results: queue.Queue[int] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, rc, _p: results.put(rc.value)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        return results.get(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


@contextmanager
def managed_site(tmp: Path, managed: bool = True) -> Iterator[Site]:
    """The app, and (managed) its broker as `coldchain up --lan` writes it, running."""
    require_binary("mosquitto_passwd")
    plain, tls_port = free_port(), free_port()
    base = settings_for(tmp, plain, None)
    mqtt_settings = MqttSettings(
        port=plain, managed=managed, public_host="127.0.0.1", tls_port=tls_port
    )
    gateway = GatewaySettings(
        client_id="coldchain-gateway-t", spool_path=tmp / "spool.sqlite3",
        metrics_port=None, spool_fsync=False, shared_subscription=False,
    )  # fmt: skip
    settings = base.model_copy(update={"mqtt": mqtt_settings, "gateway": gateway})
    files = broker.files_of(settings)
    listener = broker.TlsListener(
        "127.0.0.1", tls_port, certificates.broker_tls(settings, ["127.0.0.1"])
    )
    broker.write_config(
        files.directory, plain, tls_listener=listener, gateways=(gateway.client_id,)
    )
    broker.service_credentials(files, (gateway.client_id, settings.alerting.client_id))
    mosquitto = Server([broker.mosquitto_binary(), "-c", str(files.config)], files.directory, plain)
    if managed:
        mosquitto.start()
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            with app.state.sessionmaker() as session:
                create_superuser(
                    session, app.state.password_hasher, "root@example.be", "Root", PASSWORD
                )
            root = As(client, login(client, "root@example.be"))
            coop = {"name": "Coopérative du Condroz", "kind": "cooperative"}
            org = root.ok("POST", "/api/v1/organisations", coop, 201)["id"]
            admin = {
                "email": "admin_c@example.be",
                "full_name": "Claire Condroz",
                "password": PASSWORD,
                "memberships": [{"organisation_id": org, "role": "admin"}],
            }
            root.ok("POST", "/api/v1/users", admin, 201)
            yield Site(app, settings, files, tls_port, org)
    finally:
        mosquitto.stop()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with managed_site(tmp_path) as made:
        yield made


def register(admin: FormBrowser, site: Site, probe_id: str, **extra: str) -> Any:
    sent = {"probe_id": probe_id, "owner_id": str(site.owner_id), "interval_s": "60", **extra}
    return admin.post("/admin/probes", sent)


def test_registering_a_probe_shows_its_account_once(site: Site, tmp_path: Path) -> None:
    admin = FormBrowser(site.app, "admin_c")
    form = admin.get("/admin/probes/new").text
    assert "Le mot de passe WiFi n'est pas conservé par le serveur" in html.unescape(form)
    assert 'name="wifi_password"' in form and 'value="60"' in form
    wifi = {
        "wifi_ssid": "coop-depot", "wifi_password": "depot-wifi-pw",
        "wifi2_ssid": "van3-hotspot", "wifi2_password": "hotspot-pw",
    }  # fmt: skip
    shown = register(admin, site, "van3-a", label="Van 3", **wifi, interval_s="30")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    page = html.unescape(shown.text)
    assert "Ce mot de passe n'est montré qu'une fois" in page
    assert f"127.0.0.1:{site.tls_port} (TLS)" in page and "coop-depot, van3-hotspot" in page
    password = password_of(shown.text)
    name, files = download(shown.text)
    ca = certificates.probe_ca_file(site.settings)
    assert ca is not None
    assert name == "coldchain-van3-a.zip" and files["ca.pem"] == ca.read_bytes()
    assert json.loads(files["config.json"]) == {
        "id": "van3-a",
        "transport": "mqtt",
        "wifi": [
            {"ssid": "coop-depot", "password": "depot-wifi-pw"},
            {"ssid": "van3-hotspot", "password": "hotspot-pw"},
        ],
        "mqtt": {
            "host": "127.0.0.1", "port": site.tls_port, "tls": True, "user": "van3-a",
            "password": password, "ca_file": "ca.pem",
        },
        "interval_s": 30,
    }  # fmt: skip
    # The account exists on the running broker at once, checked against the CA of the file.
    assert connect_result(site.tls_port, "van3-a", password, files["ca.pem"], tmp_path) == 0
    # Never shown again, and neither password is kept by the server.
    with site.app.state.sessionmaker() as session:
        probe = session.scalars(select(Probe).where(Probe.probe_id == "van3-a")).one()
    probe_page = admin.get(f"/admin/probes/{probe.id}").text
    assert password not in probe_page and "depot-wifi-pw" not in probe_page
    assert "Aucune mesure reçue de cette sonde." in html.unescape(probe_page)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("coldchain.sqlite3*"))
    assert b"depot-wifi-pw" not in stored and password.encode() not in stored

    # « Réinitialiser le mot de passe »: a confirmation that says the probe is cut off...
    confirm = html.unescape(admin.get(f"/admin/probes/{probe.id}/password").text)
    assert "la sonde sera coupée" in confirm and "jusqu'à ce qu'elle soit reflashée" in confirm
    assert "Oui, réinitialiser le mot de passe" in confirm
    again = admin.post(f"/admin/probes/{probe.id}/password", {"interval_s": "60"})
    assert again.status_code == 200
    new = password_of(again.text)
    assert new != password and json.loads(download(again.text)[1]["config.json"])["wifi"] == []
    # ...and is: the old password no longer opens the broker (reloaded), the new one does.
    refused = (4, 5, 0x86, 0x87)
    wait_until(
        lambda: connect_result(site.tls_port, "van3-a", password, files["ca.pem"], tmp_path)
        in refused, 10, "old password refused",
    )  # fmt: skip
    assert connect_result(site.tls_port, "van3-a", new, files["ca.pem"], tmp_path) == 0

    twice = register(admin, site, "van3-a")
    assert twice.status_code == 409 and "déjà enregistré" in html.unescape(twice.text)
    bad = register(admin, site, "van3-b", interval_s="5", wifi2_password="x")
    assert bad.status_code == 422
    text = html.unescape(bad.text)
    assert "entre 10 et 300" in text and "un mot de passe sans nom de réseau" in text
    with site.app.state.sessionmaker() as session:
        assert session.scalar(select(Probe).where(Probe.probe_id == "van3-b")) is None


def test_a_probe_heard_before_keeps_its_password(site: Site) -> None:
    broker.set_password(site.files, "heard-1", "its-live-password")
    before = site.files.passwords.read_text()
    admin = FormBrowser(site.app, "admin_c")
    shown = register(admin, site, "heard-1")
    page = html.unescape(shown.text)
    assert shown.status_code == 200 and "déjà un compte sur le broker" in page
    assert 'id="provisioning-file"' not in shown.text
    assert site.files.passwords.read_text() == before


def test_own_broker_the_page_says_to_create_the_account(tmp_path: Path) -> None:
    with managed_site(tmp_path, managed=False) as site:
        admin = FormBrowser(site.app, "admin_c")
        shown = register(admin, site, "cr-7")
        page = html.unescape(shown.text)
        assert "créez vous-même ce compte sur votre broker" in page
        _, files = download(shown.text)
        assert set(files) == {"config.json"}  # no TLS to that broker: no CA
        config = json.loads(files["config.json"])
        assert config["mqtt"]["tls"] is False and config["mqtt"]["port"] == site.settings.mqtt.port
        admin.client.cookies.set("coldchain_lang", "en")
        english = html.unescape(register(admin, site, "cr-8").text)
        assert "This password is shown only once" in english
        assert "create this account on your broker yourself" in english


def test_from_an_empty_database_to_the_first_reading_in_chromium(
    tmp_path: Path, shared_chromium: chromium.SharedChromium, micropython: MicroPython
) -> None:
    """The admin registers a probe in the browser, keeps the password and the file shown
    once; the firmware given that file's config.json and ca.pem connects to the broker's TLS
    listener, its readings go through the real gateway, and show on the probe's page."""
    with managed_site(tmp_path) as site:
        credentials = json.loads(site.files.credentials.read_text())
        user = site.settings.gateway.client_id
        gateway_settings = site.settings.model_copy(
            update={
                "mqtt": site.settings.mqtt.model_copy(
                    update={"username": user, "password": SecretStr(credentials[user])}
                )
            }
        )
        gateway = Gateway(gateway_settings)
        gateway.start()
        server = HttpServer(site.app)
        browser = shared_chromium.clean()
        try:
            assert gateway.mqtt is not None and gateway.mqtt.subscribed.wait(10)

            def wait(condition: Any) -> None:
                WebDriverWait(browser, 10).until(lambda _b: condition())

            browser.get(server.url + "/login")
            browser.find_element(By.ID, "email").send_keys("admin_c@example.be")
            browser.find_element(By.ID, "password").send_keys(PASSWORD)
            browser.find_element(By.ID, "login").click()
            wait(lambda: "/login" not in browser.current_url)
            browser.get(server.url + "/admin/probes/new")
            for field, typed in (
                ("probe_id", "van1-frais"), ("label", "Van 1, zone fraîche"),
                ("wifi_ssid", "coop-depot"), ("wifi_password", "depot-wifi-pw"),
            ):  # fmt: skip
                browser.find_element(By.ID, f"new_probe-{field}").send_keys(typed)
            Select(browser.find_element(By.ID, "new_probe-owner_id")).select_by_value(
                str(site.owner_id)
            )
            browser.find_element(By.ID, "new_probe-submit").click()
            wait(lambda: browser.find_elements(By.ID, "prov-password"))
            body = browser.find_element(By.TAG_NAME, "body").text
            assert "Ce mot de passe n'est montré qu'une fois" in body
            password = browser.find_element(By.ID, "prov-password").text
            link = browser.find_element(By.ID, "provisioning-file")
            assert link.get_attribute("download") == "coldchain-van1-frais.zip"
            href = link.get_attribute("href") or ""
            files = unzip(href.split(",", 1)[1])  # the bytes the browser saves
            config = json.loads(files["config.json"])
            assert config["mqtt"]["password"] == password and config["id"] == "van1-frais"
            assert config["wifi"] == [{"ssid": "coop-depot", "password": "depot-wifi-pw"}]
            browser.save_screenshot(str(tmp_path / "provisioning-page.png"))

            # The probe: the real firmware (MicroPython unix port, simulated board) given the
            # downloaded config.json and ca.pem as they are; TLS checked against that CA.
            probe = SimProbe(micropython, tmp_path / "probe", {}, scenario())
            probe.cfg_path.write_bytes(files["config.json"])
            (probe.workdir / config["mqtt"]["ca_file"]).write_bytes(files["ca.pem"])
            probe.start()
            store = site.app.state.reading_store
            try:
                wait_until(lambda: store.latest(["van1-frais"]), 20, "the first reading stored")
                probe.assert_alive()
            finally:
                probe.stop()
                print("--- probe: last lines ---", *probe.lines[-20:], sep="\n")

            browser.find_element(By.ID, "probe-page").click()
            wait(lambda: browser.find_elements(By.ID, "latest-readings"))
            readings = browser.find_element(By.ID, "latest-readings").text
            assert "air" in readings and "3,5" in readings  # the scenario's air: 3.5 °C
            assert password not in browser.find_element(By.TAG_NAME, "body").text
            browser.save_screenshot(str(tmp_path / "first-reading.png"))
            print(f"screenshots: {tmp_path}")
        finally:
            try:
                shared_chromium.release([server.url])
            finally:
                server.stop()
                gateway.stop()
