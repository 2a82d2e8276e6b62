"""The addresses phones and probes can use to reach this machine.

`coldchain up --lan` prints them, the broker's certificate names them, and a probe's
provisioning file carries one (`probe_broker_address`). IPv4 only: the ESP32 firmware and
the phones on a cooperative's WiFi reach the machine over IPv4 (docs/https.md).
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from typing import Final

from coldchain.settings import Settings

ALL_INTERFACES: Final = "0.0.0.0"
_SIOCGIFADDR: Final = 0x8915  # Linux ioctl: an interface's IPv4 address


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost": an address only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name or 0.0.0.0: reachable from elsewhere


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses on its network interfaces, loopback left out, sorted."""
    found: set[str] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue  # an interface without an IPv4 address (down, or IPv6 only)
            address = socket.inet_ntoa(answer[20:24])
            if not ipaddress.ip_address(address).is_loopback:
                found.add(address)
    return sorted(found, key=ipaddress.ip_address)


def host_names() -> list[str]:
    """The names others may know this machine by: its host name, its mDNS name (Raspberry Pi
    OS and Debian with avahi answer `<name>.local`), and its fully qualified name if any."""
    name = socket.gethostname()
    names = [name]
    if "." not in name:
        names.append(f"{name}.local")
    fqdn = socket.getfqdn()
    if fqdn not in names and "." in fqdn and not fqdn.startswith("localhost"):
        names.append(fqdn)
    return names


def certificate_names(settings: Settings, lan: list[str]) -> list[str]:
    """Every name a probe may be given for the broker: what its TLS certificate must cover."""
    names = [*host_names()]
    if settings.mqtt.public_host:
        names.append(settings.mqtt.public_host)
    names += [*lan, "localhost", "127.0.0.1"]
    return list(dict.fromkeys(names))  # in order, each once


def probe_broker_address(settings: Settings) -> tuple[str, int]:
    """(host, port) a probe is given to reach the broker. Managed broker: the TLS listener on
    `mqtt.public_host` (unset: this machine's host name). Unmanaged: that broker's own host,
    on `mqtt.tls_port` when the servers reach it with TLS (`mqtt.tls_ca`), else `mqtt.port`."""
    mqtt = settings.mqtt
    if mqtt.managed:
        return mqtt.public_host or socket.gethostname(), mqtt.tls_port
    return mqtt.public_host or mqtt.host, mqtt.tls_port if mqtt.tls_ca else mqtt.port


def page_addresses(settings: Settings, lan: list[str]) -> list[str]:
    """The pages' URLs a phone on the LAN can open, the host names first."""
    port = settings.server.port
    return [f"http://{host}:{port}/" for host in [*host_names(), *lan]]
