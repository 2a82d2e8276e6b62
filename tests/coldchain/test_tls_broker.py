"""The managed broker on the LAN (`coldchain up --lan`): MQTT over TLS on `mqtt.tls_port`
with the certificate authority created on first start (coldchain/certificates.py), the
plain listener kept on loopback. Real Mosquitto started from the configuration `services()`
writes, exactly the command `coldchain up` runs."""

from __future__ import annotations

import queue
import ssl
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from coldchain import broker, certificates, network, protocol
from coldchain.commands.broker import broker_files
from coldchain.commands.up import services
from coldchain.settings import Settings
from tests.harness.servers import Server, free_port, require_binary

LAN = ["192.0.2.7"]  # a documentation address (RFC 5737): named in the certificate, never used


def lan_settings(tmp_path: Path, **mqtt: object) -> Settings:
    ports = {"port": free_port(), "tls_port": free_port()}
    return Settings(data_dir=tmp_path / "site", lan=True, mqtt={**ports, **mqtt})


@pytest.fixture
def lan_broker(tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str]]]:
    """The managed broker as `coldchain up --lan` starts it, with probe-01 registered:
    (settings, {account: password})."""
    require_binary("mosquitto")
    settings = lan_settings(tmp_path)
    command = next(s for s in services(settings, lan=True, lan_ips=LAN) if s.name == "broker")
    files = broker_files(settings)
    accounts = broker.service_credentials(files, broker.SERVICE_USERS)
    accounts["probe-01"] = broker.new_password()
    broker.set_password(files, "probe-01", accounts["probe-01"])
    server = Server(command.command, files.directory, settings.mqtt.tls_port)
    server.start()
    yield settings, accounts
    server.stop()


def connect(port: int, user: str, password: str, ca: Path | None) -> tuple[mqtt.Client, int]:
    """A client of `user` over TLS (verifying `ca`, or the system's authorities when None),
    connected: (client, CONNACK reason code)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    if ca is None:
        client.tls_set_context(ssl.create_default_context())
    else:
        client.tls_set(ca_certs=str(ca))
    results: queue.Queue[int] = queue.Queue()
    client.on_connect = lambda _c, _u, _f, rc, _p: results.put(rc.value)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client, results.get(timeout=10)


def test_a_probe_verifying_the_generated_ca_reaches_the_gateway_over_tls(
    lan_broker: tuple[Settings, dict[str, str]],
) -> None:
    settings, accounts = lan_broker
    ca = certificates.probe_ca_file(settings)
    assert ca == settings.data_dir.resolve() / "tls" / "ca.pem"
    # The gateway, on the plain loopback listener, as `coldchain up` connects it.
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, "gw", protocol=mqtt.MQTTv5)
    gateway.username_pw_set(broker.GATEWAY_USER, accounts[broker.GATEWAY_USER])
    inbox: queue.Queue[bytes] = queue.Queue()
    subscribed: queue.Queue[bool] = queue.Queue()
    gateway.on_message = lambda _c, _u, message: inbox.put(bytes(message.payload))
    gateway.on_subscribe = lambda *_: subscribed.put(True)
    gateway.on_connect = lambda c, *_: c.subscribe("cc/v1/dev/+/up/#", qos=1)
    gateway.connect("127.0.0.1", settings.mqtt.port)
    gateway.loop_start()
    subscribed.get(timeout=10)

    probe, code = connect(settings.mqtt.tls_port, "probe-01", accounts["probe-01"], ca)
    try:
        assert code == 0
        sent = probe.publish(protocol.topic("probe-01", protocol.Kind.READINGS), b"x", qos=1)
        sent.wait_for_publish(10)
        assert inbox.get(timeout=10) == b"x"
    finally:
        for client in (probe, gateway):
            client.disconnect()  # before loop_stop: the network thread then ends at once
            client.loop_stop()


def test_without_the_ca_the_broker_certificate_is_refused(
    lan_broker: tuple[Settings, dict[str, str]],
) -> None:
    settings, accounts = lan_broker
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        connect(settings.mqtt.tls_port, "probe-01", accounts["probe-01"], None)


def test_plain_mqtt_stays_on_loopback_and_tls_listens_everywhere(
    lan_broker: tuple[Settings, dict[str, str]],
) -> None:
    settings, _ = lan_broker
    listening = {}  # port -> local address, from the kernel's table of listening sockets
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":
            address, port = local.split(":")
            listening[int(port, 16)] = address
    assert listening[settings.mqtt.port] == "0100007F"  # 127.0.0.1
    assert listening[settings.mqtt.tls_port] == "00000000"  # 0.0.0.0
    config = broker_files(settings).config.read_text()
    assert config.count("use_username_as_clientid true") == 2  # on both listeners


def test_plain_on_lan_is_an_explicit_choice(tmp_path: Path) -> None:
    settings = lan_settings(tmp_path, plain_on_lan=True)
    services(settings, lan=True, lan_ips=LAN)
    config = broker_files(settings).config.read_text()
    assert f"listener {settings.mqtt.port} 0.0.0.0" in config
    assert f"listener {settings.mqtt.tls_port} 0.0.0.0" in config
    local = Settings(data_dir=tmp_path / "local", mqtt={"port": free_port()})
    services(local)
    config = broker_files(local).config.read_text()
    assert f"listener {local.mqtt.port} 127.0.0.1" in config
    assert "cafile" not in config  # no TLS listener without --lan
    assert not (tmp_path / "local" / "tls" / "broker.pem").exists()


def names_in(cert_file: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in sans]


def test_the_authority_is_created_once_and_the_broker_certificate_names_every_address(
    tmp_path: Path,
) -> None:
    settings = lan_settings(tmp_path, public_host="froid.coop.lan")
    first = certificates.broker_tls(settings, LAN)
    folder = settings.data_dir.resolve() / "tls"
    assert (first.ca, first.cert, first.key) == (
        folder / "ca.pem", folder / "broker.pem", folder / "broker.key"
    )  # fmt: skip
    for secret in (folder / "ca.key", first.key):
        assert secret.stat().st_mode & 0o777 == 0o600
    names = names_in(first.cert)
    expected = [*network.host_names(), "froid.coop.lan", "192.0.2.7", "localhost", "127.0.0.1"]
    assert names == expected
    ca_bytes, cert_bytes = first.ca.read_bytes(), first.cert.read_bytes()
    certificates.broker_tls(settings, LAN)  # nothing new: the same files
    assert (first.ca.read_bytes(), first.cert.read_bytes()) == (ca_bytes, cert_bytes)
    # A new LAN address: a new broker certificate from the same authority (probes flashed
    # with the CA keep working).
    certificates.broker_tls(settings, [*LAN, "198.51.100.4"])
    assert "198.51.100.4" in names_in(first.cert)
    assert first.ca.read_bytes() == ca_bytes


def test_the_operators_own_files_are_used_as_they_are(tmp_path: Path) -> None:
    own = {name: tmp_path / f"{name}.pem" for name in ("broker_ca", "broker_cert", "broker_key")}
    settings = lan_settings(tmp_path, **own)
    services(settings, lan=True, lan_ips=LAN)
    config = broker_files(settings).config.read_text()
    assert f"cafile {own['broker_ca']}" in config and f"keyfile {own['broker_key']}" in config
    assert certificates.probe_ca_file(settings) == own["broker_ca"]
    assert not (settings.data_dir / "tls").exists()
    with pytest.raises(ValidationError, match="vont ensemble"):
        Settings(mqtt={"broker_ca": own["broker_ca"]})


def test_an_unmanaged_broker_gives_probes_the_ca_the_servers_use(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path, mqtt={"managed": False, "host": "mqtt.coop.lan"})
    assert certificates.probe_ca_file(plain) is None
    assert network.probe_broker_address(plain) == ("mqtt.coop.lan", 1883)
    ca = tmp_path / "their-ca.pem"
    tls = Settings(
        data_dir=tmp_path, mqtt={"managed": False, "host": "mqtt.coop.lan", "tls_ca": ca}
    )
    assert certificates.probe_ca_file(tls) == ca
    assert network.probe_broker_address(tls) == ("mqtt.coop.lan", 8883)
    assert not (tmp_path / "tls").exists()
