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
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from coldchain.protocol import PROBE_ID_RE

GATEWAY_USER: Final = "coldchain-gateway"
SERVER_USER: Final = "coldchain-server"
SERVICE_USERS: Final = (GATEWAY_USER, SERVER_USER)

# Each probe (username = probe id) writes only under its own up/ and reads only its own
# down/. The gateway reads every up/; the server (alert worker) reads up/ and writes down/.
ACL: Final = f"""\
# probes: the username is the probe id
pattern write cc/v1/dev/%u/up/#
pattern read cc/v1/dev/%u/down/#

user {GATEWAY_USER}
topic read cc/v1/dev/+/up/#

user {SERVER_USER}
topic read cc/v1/dev/+/up/#
topic write cc/v1/dev/+/down/#
"""


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


def write_config(
    directory: Path,
    port: int,
    *,
    bind: str = "127.0.0.1",
    authenticated: bool = True,
    tls: TlsFiles | None = None,
) -> BrokerFiles:
    """Write mosquitto.conf (and an empty password file and the ACL when authenticated)."""
    files = BrokerFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files.persistence.mkdir(exist_ok=True)
    listener = [f"listener {port} {bind}"]
    if authenticated:
        files.passwords.touch(mode=0o600, exist_ok=True)
        files.acl.write_text(ACL)
        listener += [
            "allow_anonymous false",
            f"password_file {files.passwords}",
            f"acl_file {files.acl}",
        ]
    else:
        listener.append("allow_anonymous true")
    if tls is not None:
        listener += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        listener.append("tls_version tlsv1.2")
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
                *listener,
                "",
            ]
        )
    )
    return files


def set_password(files: BrokerFiles, username: str, password: str) -> None:
    """Add or change a user in the password file (mosquitto_passwd hashes it)."""
    if username not in SERVICE_USERS and not PROBE_ID_RE.fullmatch(username):
        raise ValueError(f"not a probe id or service user: {username!r}")
    subprocess.run(
        [mosquitto_binary("mosquitto_passwd"), "-b", str(files.passwords), username, password],
        check=True,
        capture_output=True,
    )


def remove_user(files: BrokerFiles, username: str) -> None:
    subprocess.run(
        [mosquitto_binary("mosquitto_passwd"), "-D", str(files.passwords), username],
        check=True,
        capture_output=True,
    )


def new_password() -> str:
    return secrets.token_urlsafe(18)


def service_credentials(files: BrokerFiles) -> dict[str, str]:
    """Passwords of the gateway and server users: generated once, kept 0600, set in the broker."""
    if files.credentials.exists():
        stored: dict[str, str] = json.loads(files.credentials.read_text())
        if set(stored) == set(SERVICE_USERS):
            return stored
    created = {user: new_password() for user in SERVICE_USERS}
    files.credentials.touch(mode=0o600, exist_ok=True)
    files.credentials.write_text(json.dumps(created))
    for user, password in created.items():
        set_password(files, user, password)
    return created


def reload(files: BrokerFiles) -> bool:
    """Make the running broker re-read its password file and ACL (SIGHUP); False if not running."""
    try:
        pid = int(files.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True
