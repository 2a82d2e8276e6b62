"""The systemd units that run coldchain as services (docs/operations.md, « Services »).

One unit per process of `coldchain up` (broker, gateway, alert worker, server), each run by
`coldchain run-service NAME` as the dedicated user: that command builds the process exactly
as `coldchain up` does (same command line, same environment, the broker's generated files),
then becomes it, so systemd supervises Mosquitto or uvicorn itself. Plus a nightly backup.
Mosquitto is never root: the unit starts it as the dedicated user, and the `user` line of
the mosquitto.conf written then names that user.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from coldchain import broker

TARGET: Final = "coldchain.target"
UNIT_PREFIX: Final = "coldchain-"
DESCRIPTIONS: Final = {
    "broker": "broker MQTT (Mosquitto)",
    "gateway": "passerelle (relevés des sondes vers le magasin)",
    "alert-worker": "moteur d'alertes",
    "server": "serveur web et API",
}
BACKUP_AT: Final = "*-*-* 02:30:00"  # the night: deliveries do not run then


def unit_name(service: str) -> str:
    return f"{UNIT_PREFIX}{service}.service"


@dataclass(frozen=True)
class Install:
    """What the units need to know: who runs them, with which files."""

    user: str
    coldchain: Sequence[str]  # the `coldchain` command with its --config, absolute paths
    config: Path
    data_dir: Path
    backup_to: Path | None = None
    backup_keep: int = 14


def _exec(words: Sequence[str]) -> str:
    return shlex.join(words)


def service_unit(install: Install, service: str) -> str:
    """One long-running process, restarted when it fails, its output in the journal."""
    after = ["network-online.target"]
    wants = ["network-online.target"]
    if service != "broker":
        # Wants, not Requires: a broker restart must not stop the gateway, which reconnects.
        after.append(unit_name("broker"))
    lines = [
        "[Unit]",
        f"Description=coldchain : {DESCRIPTIONS.get(service, service)}",
        f"After={' '.join(after)}",
        f"Wants={' '.join(wants)}",
        f"PartOf={TARGET}",
        "",
        "[Service]",
        "Type=exec",
        f"User={install.user}",
        f"Group={install.user}",
        f"WorkingDirectory={install.data_dir}",
        f"Environment=COLDCHAIN_CONFIG={install.config}",
        f"Environment=COLDCHAIN_DATA_DIR={install.data_dir}",
        f"ExecStart={_exec([*install.coldchain, 'run-service', service])}",
    ]
    if service == "broker":
        lines.append("ExecReload=/bin/kill -HUP $MAINPID")  # new probe passwords, the ACL
    lines += [
        "Restart=on-failure",
        "RestartSec=5",
        # Exit status 2: the configuration (or a database newer than this code) is refused;
        # restarting cannot help, the journal says what to change.
        "RestartPreventExitStatus=2",
        # The gateway empties its spool on SIGTERM (gateway.shutdown_flush_s): give it time.
        "TimeoutStopSec=30",
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier={UNIT_PREFIX}{service}",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=full",  # /usr, /boot and /etc read-only for the service
        "",
        "[Install]",
        f"WantedBy={TARGET}",
        "",
    ]
    return "\n".join(lines)


def target_unit(services: Sequence[str]) -> str:
    """`systemctl stop coldchain.target` stops them all; enabled, it starts them at boot."""
    return "\n".join(
        [
            "[Unit]",
            "Description=coldchain : tous les services",
            f"Wants={' '.join(unit_name(s) for s in services)}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def backup_service(install: Install) -> str:
    command = [*install.coldchain, "backup", "--keep", str(install.backup_keep)]
    if install.backup_to is not None:
        command += ["--to", str(install.backup_to)]
    return "\n".join(
        [
            "[Unit]",
            "Description=coldchain : sauvegarde (bases, configuration, clés)",
            "",
            "[Service]",
            "Type=oneshot",
            f"User={install.user}",
            f"Group={install.user}",
            f"WorkingDirectory={install.data_dir}",
            f"Environment=COLDCHAIN_CONFIG={install.config}",
            f"Environment=COLDCHAIN_DATA_DIR={install.data_dir}",
            f"ExecStart={_exec(command)}",
            "StandardOutput=journal",
            "StandardError=journal",
            f"SyslogIdentifier={UNIT_PREFIX}backup",
            "NoNewPrivileges=yes",
            "",
        ]
    )


def backup_timer() -> str:
    return "\n".join(
        [
            "[Unit]",
            "Description=coldchain : sauvegarde de chaque nuit",
            "",
            "[Timer]",
            f"OnCalendar={BACKUP_AT}",
            "Persistent=true",  # a machine off at 02:30 backs up when it comes back
            "RandomizedDelaySec=15min",
            f"Unit={UNIT_PREFIX}backup.service",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )


def units(install: Install, services: Sequence[str]) -> dict[str, str]:
    """Every file to write in the units folder: name -> content."""
    found = {unit_name(s): service_unit(install, s) for s in services}
    found[TARGET] = target_unit(services)
    found[f"{UNIT_PREFIX}backup.service"] = backup_service(install)
    found[f"{UNIT_PREFIX}backup.timer"] = backup_timer()
    return found


def system_broker_include(passwords: Path, acl: Path, host: str, port: int) -> str:
    """For a Mosquitto of the system (Debian's `mosquitto` service) that coldchain uses
    instead of its own: /etc/mosquitto/conf.d/coldchain.conf, read at its next restart.

    It declares the listener itself: `use_username_as_clientid` is a listener option, and
    Mosquitto 2.0 reads an include_dir before the main file's own lines, so an option alone
    in the include never reaches a listener of the main file (measured with 2.0.11). Debian's
    main file declares no listener; one declared there on the same port clashes (the docs
    say so: docs/operations.md)."""
    return "\n".join(
        [
            "# coldchain (coldchain install --systemd --system-broker) : les sondes et les",
            "# services de coldchain se connectent avec les comptes et l'ACL de coldchain.",
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {passwords}",
            f"acl_file {acl}",
            # Each client id replaced by the account's name: a probe's password cannot open
            # the gateway's or the alert worker's session (docs/https.md).
            *broker.listener_lines(host, port, None, bind_client_ids=True),
            "",
        ]
    )
