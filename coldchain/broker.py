"""Mosquitto as this project runs it: a generated config, per-probe passwords, the probe ACL.

Used by the one-command start and by the test harness, so the ACL that tests prove is the
one that ships. Mosquitto is the Debian / Raspberry Pi OS package (why not a pure-Python
broker: docs/technical-notes.md#broker-why-mosquitto).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from coldchain.protocol import PROBE_ID_RE
from coldchain.settings import Settings

# The servers' accounts are named after their MQTT client ids (the settings' defaults here):
# the broker replaces every client id by the username (`use_username_as_clientid`), so the
# gateway's persistent session belongs to the gateway's account and no probe password can
# open, discard or take it over (issue 17; docs/https.md#client-ids-bound-to-accounts).
GATEWAY_USER: Final = "coldchain-gateway-1"  # = GatewaySettings.client_id
SERVER_USER: Final = "coldchain-alerts-1"  # = AlertingSettings.client_id (the alert worker)
SERVICE_USERS: Final = (GATEWAY_USER, SERVER_USER)


def acl_text(
    gateways: Sequence[str] = (GATEWAY_USER,), servers: Sequence[str] = (SERVER_USER,)
) -> str:
    """Each probe (username = probe id) writes only under its own up/ and reads only its own
    down/. A gateway reads every up/; a server account (alert worker) reads up/, writes down/."""
    lines = [
        "# probes: the username is the probe id (and, bound by the broker, the client id)",
        "pattern write cc/v1/dev/%u/up/#",
        "pattern read cc/v1/dev/%u/down/#",
    ]
    for name in gateways:
        lines += ["", f"user {name}", "topic read cc/v1/dev/+/up/#"]
    for name in servers:
        lines += [
            "",
            f"user {name}",
            "topic read cc/v1/dev/+/up/#",
            "topic write cc/v1/dev/+/down/#",
        ]
    return "\n".join(lines) + "\n"


ACL: Final = acl_text()


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class BrokerFiles:
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def passwords(self) -> Path:
        return self.directory / "passwords"

    @property
    def acl(self) -> Path:
        return self.directory / "acl"

    @property
    def persistence(self) -> Path:
        return self.directory / "persist"

    @property
    def pid_file(self) -> Path:
        return self.directory / "mosquitto.pid"

    @property
    def credentials(self) -> Path:
        """Generated passwords of the service users (mode 0600), for the processes we start."""
        return self.directory / "service-credentials.json"


def mosquitto_binary(name: str = "mosquitto") -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        raise FileNotFoundError(
            f"{name} is not installed: apt-get install mosquitto (Debian / Raspberry Pi OS)"
        )
    return found


@dataclass(frozen=True)
class TlsListener:
    """A second listener, MQTT over TLS (the one probes on the LAN use)."""

    bind: str
    port: int
    files: TlsFiles


def write_config(
    directory: Path,
    port: int,
    *,
    bind: str = "127.0.0.1",
    authenticated: bool = True,
    tls: TlsFiles | None = None,
    tls_listener: TlsListener | None = None,
    gateways: Sequence[str] = (GATEWAY_USER,),
    servers: Sequence[str] = (SERVER_USER,),
) -> BrokerFiles:
    """Write mosquitto.conf (and an empty password file and the ACL when authenticated).

    `tls` puts TLS on the main listener; `tls_listener` adds a TLS listener beside a plain
    one. `gateways` / `servers` are the service accounts the ACL names."""
    files = BrokerFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files.persistence.mkdir(exist_ok=True)
    security = []
    if authenticated:
        files.passwords.touch(mode=0o600, exist_ok=True)
        files.acl.write_text(acl_text(gateways, servers))
        security += [
            "allow_anonymous false",
            f"password_file {files.passwords}",
            f"acl_file {files.acl}",
        ]
    else:
        security.append("allow_anonymous true")
    listeners = listener_lines(bind, port, tls, bind_client_ids=authenticated)
    if tls_listener is not None:
        listeners += listener_lines(
            tls_listener.bind, tls_listener.port, tls_listener.files, bind_client_ids=authenticated
        )
    # Started as root, Mosquitto switches to the "mosquitto" user, who cannot read a
    # private data folder: run as whoever starts it.
    user = pwd.getpwuid(os.getuid()).pw_name
    files.config.write_text(
        "\n".join(
            [
                f"user {user}",
                f"pid_file {files.pid_file}",
                "per_listener_settings false",
                # Persistence on, saved every second: queued QoS 1 messages for a stopped
                # gateway survive a broker restart (the default autosave is 1800 s).
                "persistence true",
                f"persistence_location {files.persistence}/",
                "autosave_interval 1",
                # The default 1000 per client drops bursts to a slow subscriber
                # (docs/technical-notes.md#mosquitto-queue-limits-and-persistence).
                "max_queued_messages 1000000",
                "max_inflight_messages 100",
                "max_packet_size 1048576",
                "log_dest stdout",
                "log_type error",
                "log_type warning",
                "log_type notice",
                *security,
                *listeners,
                "",
            ]
        )
    )
    return files


def listener_lines(
    bind: str, port: int, tls: TlsFiles | None, *, bind_client_ids: bool
) -> list[str]:
    """A `listener` block of mosquitto.conf: what follows the line applies to that listener."""
    lines = [f"listener {port} {bind}"]
    if bind_client_ids:
        # The client id a client sends is replaced by its username: nobody can connect under
        # another account's client id (a listener option in mosquitto.conf(5); repeated on
        # every listener so it holds whether the running version reads it per listener or
        # globally). Not re-read on SIGHUP: a change needs a broker restart.
        lines.append("use_username_as_clientid true")
    if tls is not None:
        lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        lines.append("tls_version tlsv1.2")
    return lines


def allows_anonymous(files: BrokerFiles) -> bool:
    """Whether the written configuration lets clients in without a password."""
    return "allow_anonymous true" in files.config.read_text().splitlines()


def service_accounts(files: BrokerFiles) -> list[str]:
    """The server accounts the written ACL names (`user` lines): never a probe's id."""
    if not files.acl.exists():
        return list(SERVICE_USERS)
    return [
        line.split(None, 1)[1].strip()
        for line in files.acl.read_text().splitlines()
        if line.startswith("user ")
    ]


def set_password(
    files: BrokerFiles, username: str, password: str, *, service: bool = False
) -> None:
    """Add or change a probe (or, with `service`, a server account) in the password file
    (mosquitto_passwd hashes it). A probe may not take a server account's name: with client
    ids bound to usernames it would then hold that server's session."""
    if not PROBE_ID_RE.fullmatch(username):
        raise ValueError(f"not a probe id or service user: {username!r}")
    if not service and username in service_accounts(files):
        raise ValueError(
            f"{username!r} est le compte d'un service (passerelle ou alertes), pas une sonde / "
            "is a service account, not a probe id"
        )
    subprocess.run(
        [mosquitto_binary("mosquitto_passwd"), "-b", str(files.passwords), username, password],
        check=True,
        capture_output=True,
    )


def remove_user(files: BrokerFiles, username: str, *, service: bool = False) -> None:
    """Remove a probe (or, with `service`, a server account) from the password file; one
    already absent is not an error."""
    if not service and username in service_accounts(files):
        raise ValueError(f"{username!r} est le compte d'un service / is a service account")
    done = subprocess.run(
        [mosquitto_binary("mosquitto_passwd"), "-D", str(files.passwords), username],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and "not found" not in done.stdout + done.stderr:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)


def new_password() -> str:
    return secrets.token_urlsafe(18)


def service_credentials(
    files: BrokerFiles, accounts: Sequence[str] = SERVICE_USERS
) -> dict[str, str]:
    """Passwords of the server accounts: generated once each, kept 0600, set in the broker.
    An account no longer named (an older name, a changed client id) leaves the broker."""
    stored: dict[str, str] = {}
    if files.credentials.exists():
        stored = json.loads(files.credentials.read_text())
    if set(stored) == set(accounts):
        return stored
    wanted = {name: stored.get(name) or new_password() for name in accounts}
    for name in set(stored) - set(accounts):
        remove_user(files, name, service=True)
    files.credentials.touch(mode=0o600, exist_ok=True)
    files.credentials.write_text(json.dumps(wanted))
    for name, password in wanted.items():
        if stored.get(name) != password:
            set_password(files, name, password, service=True)
    return wanted


def reload(files: BrokerFiles) -> bool:
    """Make the running broker re-read its password file and ACL (SIGHUP); False if not running."""
    try:
        pid = int(files.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True


def files_of(settings: Settings) -> BrokerFiles:
    """The managed broker's folder: <data_dir>/broker (`coldchain up` writes it there)."""
    return BrokerFiles(settings.data_dir.resolve() / "broker")


def has_user(files: BrokerFiles, username: str) -> bool:
    """Whether the password file holds `username` (lines `user:hash`)."""
    try:
        lines = files.passwords.read_text().splitlines()
    except FileNotFoundError:
        return False
    return any(line.partition(":")[0] == username for line in lines)
