"""What a probe must carry to join this system, in one file: the provisioning file.

It is a zip archive holding exactly the files the firmware reads from the board's file
system (docs/firmware.md "Config file"): `config.json` (probe id, WiFi, broker address,
account and sampling interval) and, when the broker speaks TLS, `ca.pem`, the certificate
authority the firmware checks the broker against (`mqtt.ca_file`). The admin page offers it
for download once, when it creates or resets the probe's broker account (nothing of it is
kept by the server: the WiFi password and the broker password exist only in the download);
`coldchain probe flash --provisioning FILE` copies its files to the board as they are, and
a volunteer without that command copies them with `mpremote cp` (hardware/flashing.md).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from coldchain import broker, certificates, network
from coldchain.protocol import PROBE_ID_RE
from coldchain.settings import Settings

CONFIG_NAME: Final = "config.json"
CA_NAME: Final = "ca.pem"
INTERVAL_S: Final = (10, 300)  # the firmware's bounds of interval_s (contract.py)
DEFAULT_INTERVAL_S: Final = 60
MAX_FILE_BYTES: Final = 64 * 1024  # a provisioning file is a few KB: refuse anything larger
# Fixed zip timestamps: the same probe, password and network give the same bytes.
_ZIP_TIME: Final = (2020, 1, 1, 0, 0, 0)


class ProvisioningRefused(ValueError):
    """A provisioning file that a probe cannot use; the message says why, in French."""


@dataclass(frozen=True)
class Wifi:
    ssid: str
    password: str


@dataclass(frozen=True)
class Provisioning:
    """Everything a probe is given. `ca_pem` None: the broker is reached without TLS."""

    probe_id: str
    host: str
    port: int
    password: str
    ca_pem: bytes | None
    wifi: tuple[Wifi, ...] = ()
    interval_s: int = DEFAULT_INTERVAL_S

    def config(self) -> dict[str, Any]:
        """The firmware's config.json (firmware/esp32/config.example.json), the user = the id
        (the broker's ACL and the firmware both require it)."""
        mqtt: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls": self.ca_pem is not None,
            "user": self.probe_id,
            "password": self.password,
        }
        if self.ca_pem is not None:
            mqtt["ca_file"] = CA_NAME
        return {
            "id": self.probe_id,
            "transport": "mqtt",
            "wifi": [{"ssid": w.ssid, "password": w.password} for w in self.wifi],
            "mqtt": mqtt,
            "interval_s": self.interval_s,
        }

    def files(self) -> dict[str, bytes]:
        """The files to write on the board, by name."""
        shown = json.dumps(self.config(), indent=2, ensure_ascii=False) + "\n"
        files = {CONFIG_NAME: shown.encode()}
        if self.ca_pem is not None:
            files[CA_NAME] = self.ca_pem
        return files

    def archive(self) -> bytes:
        """The provisioning file: a zip of `files()`."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files().items():
                archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data)
        return out.getvalue()

    @property
    def file_name(self) -> str:
        return f"coldchain-{self.probe_id}.zip"


def read_archive(data: bytes, probe_id: str | None = None) -> dict[str, bytes]:
    """The files of a provisioning file, checked as the firmware will read them: a zip with
    a config.json whose id is a probe id (`probe_id` when given), whose broker user is that
    id, and with the CA file it names. Anything else: ProvisioningRefused."""
    if len(data) > MAX_FILE_BYTES:
        raise ProvisioningRefused("fichier de provisionnement trop grand (un zip de quelques Ko)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if not names <= {CONFIG_NAME, CA_NAME}:
                raise ProvisioningRefused(f"fichiers inattendus : {sorted(names)}")
            if any(info.file_size > MAX_FILE_BYTES for info in archive.infolist()):
                raise ProvisioningRefused("fichier de provisionnement trop grand une fois ouvert")
            files = {name: archive.read(name) for name in sorted(names)}
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ProvisioningRefused("ce n'est pas un fichier de provisionnement (zip)") from exc
    if CONFIG_NAME not in files:
        raise ProvisioningRefused(f"{CONFIG_NAME} absent du fichier de provisionnement")
    try:
        config = json.loads(files[CONFIG_NAME])
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProvisioningRefused(f"{CONFIG_NAME} n'est pas du JSON valide") from exc
    if not isinstance(config, dict) or not isinstance(config.get("mqtt"), dict):
        raise ProvisioningRefused(f"{CONFIG_NAME} : objet avec « mqtt » attendu")
    found = config.get("id")
    if not isinstance(found, str) or not PROBE_ID_RE.fullmatch(found):
        raise ProvisioningRefused(f"{CONFIG_NAME} : identifiant de sonde invalide : {found!r}")
    if probe_id is not None and found != probe_id:
        raise ProvisioningRefused(f"ce fichier est celui de la sonde {found}, pas de {probe_id}")
    if config["mqtt"].get("user") != found:
        raise ProvisioningRefused(f"{CONFIG_NAME} : mqtt.user doit être l'identifiant {found}")
    ca_file = config["mqtt"].get("ca_file")
    if ca_file is not None and ca_file not in files:
        raise ProvisioningRefused(f"{CONFIG_NAME} nomme {ca_file!r}, absent du fichier")
    return files


ROM_ID_RE: Final = re.compile(r"[0-9a-f]{16}")  # a DS18B20's 64-bit ROM id, as the scan prints it
SENSOR_CHANNELS: Final = ("air", "product")
SHT_FAMILIES: Final = {"sht4x": 0x44, "sht3x": 0x44}


def with_sensors(
    files: dict[str, bytes], ds18b20: dict[str, str], sht: str | None = None
) -> dict[str, bytes]:
    """The files with these sensors in config.json's `sensors` (hardware/flashing.md §4: the
    DS18B20 ROM ids are found on the bench, the server cannot know them): ROM id -> channel,
    and an SHT4x/SHT3x for the humidity ("sht4x-air": its temperature is the air channel).
    Nothing given: the files as they are."""
    if not ds18b20 and sht is None:
        return files
    config = json.loads(files[CONFIG_NAME])
    sensors: dict[str, Any] = dict(config.get("sensors") or {})
    for rom, channel in ds18b20.items():
        if not ROM_ID_RE.fullmatch(rom):
            raise ProvisioningRefused(f"identifiant DS18B20 invalide : {rom!r} (16 chiffres hexa)")
        if channel not in SENSOR_CHANNELS:
            raise ProvisioningRefused(f"canal inconnu : {channel!r} (air ou product)")
    if ds18b20:
        sensors["ds18b20"] = dict(ds18b20)
    if sht is not None:
        family, _, role = sht.partition("-")
        if family not in SHT_FAMILIES or role not in ("", "air"):
            raise ProvisioningRefused(f"capteur SHT inconnu : {sht!r} (sht4x, sht3x, sht4x-air…)")
        if role == "air" and "air" in ds18b20.values():
            raise ProvisioningRefused("le canal air est déjà mesuré par un DS18B20")
        sensors["sht"] = {"family": family, "addr": SHT_FAMILIES[family]}
        if role:
            sensors["sht"]["temp_channel"] = role
    config["sensors"] = sensors
    shown = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    return {**files, CONFIG_NAME: shown.encode()}


# --- this system's side: the broker address and the probe's account -----------------------


def ca_file(settings: Settings) -> Path | None:
    """The CA certificate a probe must carry; None when the broker has no TLS (the managed
    broker always has: its CA is created on first use, coldchain/certificates.py)."""
    return certificates.probe_ca_file(settings)


def provisioning(
    settings: Settings,
    probe_id: str,
    password: str,
    wifi: tuple[Wifi, ...] = (),
    interval_s: int = DEFAULT_INTERVAL_S,
) -> Provisioning:
    host, port = network.probe_broker_address(settings)  # the one home of that address
    ca = ca_file(settings)
    return Provisioning(
        probe_id, host, port, password, ca.read_bytes() if ca else None, wifi, interval_s
    )


@dataclass(frozen=True)
class Account:
    """A probe's broker password just set. `managed`: set on the broker `coldchain up` runs
    (`reloaded`: the running broker took it at once); else the operator creates the account
    on their own broker, user = probe id, with this password."""

    password: str
    managed: bool
    reloaded: bool


def has_account(settings: Settings, probe_id: str) -> bool:
    """Whether the managed broker already knows the probe (a reset would cut it off)."""
    return settings.mqtt.managed and broker.has_user(broker.files_of(settings), probe_id)


def set_account(settings: Settings, probe_id: str) -> Account:
    """A new password for the probe; on the managed broker, set it and reload the broker.
    FileNotFoundError when the managed broker was never started (no password file)."""
    password = broker.new_password()
    if not settings.mqtt.managed:
        return Account(password, managed=False, reloaded=False)
    files = broker.files_of(settings)
    if not files.passwords.exists():
        raise FileNotFoundError(
            f"pas de broker géré dans {files.directory} : lancez `coldchain up` une fois"
        )
    broker.set_password(files, probe_id, password)
    return Account(password, managed=True, reloaded=broker.reload(files))
