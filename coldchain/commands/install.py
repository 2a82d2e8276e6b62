"""`coldchain install --systemd`: the services start at boot, restart when they fail and log
to the journal, run by a dedicated user (docs/operations.md, « Services »); and
`coldchain run-service NAME`, what each unit runs.

When another Mosquitto (Debian's `mosquitto` service) already holds the broker's port, the
install stops and offers the two ways out: use that broker (`--system-broker`: it reads
coldchain's passwords and ACL through an include file) or run ours on another port
(`--broker-port`). Either choice is written into the configuration file.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from coldchain import broker, systemd
from coldchain.commands.backup import config_file
from coldchain.commands.broker import broker_files
from coldchain.commands.up import coldchain_command, services
from coldchain.settings import Settings
from coldchain.startup import settings_or_exit
from coldchain.supervisor import port_open

SYSTEMD_UNITS = Path("/etc/systemd/system")
MOSQUITTO_INCLUDES = Path("/etc/mosquitto/conf.d")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "install", help="run coldchain as services (systemd units, nightly backup)"
    )
    parser.add_argument("--systemd", action="store_true", help="write and enable systemd units")
    parser.add_argument("--user-name", default="coldchain", help="the services' user (coldchain)")
    parser.add_argument("--prefix", type=Path, default=SYSTEMD_UNITS, help="units folder")
    parser.add_argument("--dry-run", action="store_true", help="print the units, change nothing")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--system-broker", action="store_true",
        help="use the Mosquitto of the system already on the port (writes its include file)",
    )  # fmt: skip
    choice.add_argument("--broker-port", type=int, help="run our broker on this port instead")
    parser.add_argument(
        "--mosquitto-conf-d", type=Path, default=MOSQUITTO_INCLUDES,
        help="the system Mosquitto's include folder (--system-broker)",
    )  # fmt: skip
    parser.add_argument("--backup-to", type=Path, help="nightly backups there (a USB stick)")
    parser.add_argument("--backup-keep", type=int, default=14, help="backups kept (14)")
    parser.set_defaults(handler=run)
    service = subparsers.add_parser(
        "run-service", help="run one service as `coldchain up` would (what the units run)"
    )
    service.add_argument("name", choices=sorted(systemd.DESCRIPTIONS))
    service.set_defaults(handler=run_service)


def planned_services(settings: Settings) -> list[str]:
    """The services `coldchain up` would start with these settings (up.services decides:
    a test checks both agree), without writing the broker's files."""
    names = ["broker"] if settings.mqtt.managed else []
    names.append("gateway")
    if not settings.alerting.in_server:
        names.append("alert-worker")
    return [*names, "server"]


def set_in_toml(text: str, table: str, values: dict[str, object]) -> str:
    """`text` with `key = value` set in `[table]` (replaced when there, else added under the
    header; the table appended when missing). The caller reloads the file to check."""
    lines = text.splitlines()
    rendered = {k: json.dumps(v) for k, v in values.items()}  # TOML-compatible scalars
    header = next((i for i, line in enumerate(lines) if line.strip() == f"[{table}]"), None)
    if header is None:
        return "\n".join([*lines, "", f"[{table}]", *(f"{k} = {v}" for k, v in rendered.items()),
                          ""])  # fmt: skip
    end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))  # fmt: skip
    for key, value in rendered.items():
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        found = next((i for i in range(header + 1, end) if pattern.match(lines[i])), None)
        if found is None:
            lines.insert(header + 1, f"{key} = {value}")
            end += 1
        else:
            lines[found] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


def our_broker_runs(settings: Settings) -> bool:
    """The broker on the port is coldchain's own (its pid file names a live process)."""
    try:
        pid = int(broker_files(settings).pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def port_taken_message(settings: Settings, config: Path) -> str:
    port = settings.mqtt.port
    return (
        f"coldchain: le port {port} est déjà pris par un autre broker MQTT (sans doute le "
        "service mosquitto de Debian / Raspberry Pi OS). Deux choix :\n"
        f"  1. utiliser ce Mosquitto : coldchain --config {config} install --systemd "
        "--system-broker\n"
        "     (il lira les mots de passe et l'ACL de coldchain : /etc/mosquitto/conf.d/"
        "coldchain.conf ; mqtt.managed = false)\n"
        f"  2. garder le broker de coldchain sur un autre port : coldchain --config {config} "
        f"install --systemd --broker-port {port + 1}\n"
        "     (ou arrêter l'autre : sudo systemctl disable --now mosquitto)"
    )


def _edit_config(config: Path, values: dict[str, object], dry_run: bool) -> None:
    text = set_in_toml(config.read_text(), "mqtt", values)
    shown = {k: ("***" if k == "password" else v) for k, v in values.items()}
    print(f"{config} : [mqtt] {shown}")
    if not dry_run:
        config.write_text(text)


def use_system_broker(settings: Settings, config: Path, args: argparse.Namespace) -> None:
    """coldchain's accounts and ACL, read by the system's Mosquitto; the gateway and the
    alert worker each log in with their own account (`mqtt.coldchain_accounts`), whose name
    the broker makes their client id: no probe can take their sessions (issue 17)."""
    files = broker_files(settings)
    include = args.mosquitto_conf_d / "coldchain.conf"
    print(f"{include} : password_file {files.passwords}, acl_file {files.acl}")
    if args.dry_run:
        print(f"{config} : [mqtt] managed = false, coldchain_accounts = true")
        return
    gateway, alerts = settings.gateway.client_id, settings.alerting.client_id
    broker.write_config(files.directory, settings.mqtt.port, bind=settings.mqtt.host,
                        gateways=(gateway,), servers=(alerts,))  # fmt: skip
    broker.service_credentials(files, (gateway, alerts))
    include.parent.mkdir(parents=True, exist_ok=True)
    include.write_text(
        systemd.system_broker_include(
            files.passwords, files.acl, settings.mqtt.host, settings.mqtt.port
        )
    )
    _edit_config(config, {"managed": False, "coldchain_accounts": True}, dry_run=False)
    if _for_real(args):
        # The system Mosquitto runs as `mosquitto`: it reads our files through the group.
        _run(["usermod", "-aG", args.user_name, "mosquitto"])
        for path in (files.directory, files.passwords, files.acl):
            path.chmod(0o750 if path.is_dir() else 0o640)
        _run(["systemctl", "restart", "mosquitto"])


def _for_real(args: argparse.Namespace) -> bool:
    """Users, ownership and systemctl: only as root, into systemd's own folder."""
    return not args.dry_run and os.geteuid() == 0 and args.prefix == SYSTEMD_UNITS


def _run(command: list[str]) -> None:
    print(f"  $ {' '.join(command)}")
    subprocess.run(command, check=True)


def _closed_to_others(path: Path) -> Path | None:
    """The first folder on the way to `path` that another user cannot enter, if any."""
    for folder in reversed([path, *path.parents]):
        if folder.is_dir() and not folder.stat().st_mode & 0o001:
            return folder
    return None


def create_user(name: str, data_dir: Path) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        _run(["useradd", "--system", "--user-group", "--home-dir", str(data_dir),
              "--shell", "/usr/sbin/nologin", name])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        return install(args)
    except PermissionError as exc:
        print(f"coldchain: permission refusée ({exc.filename}) : lancez la commande avec sudo",
              file=sys.stderr)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"coldchain: installation interrompue : {exc}", file=sys.stderr)
    return 1


def install(args: argparse.Namespace) -> int:
    if not args.systemd:
        print("coldchain: précisez --systemd (le seul gestionnaire de services pris en "
              "charge)", file=sys.stderr)  # fmt: skip
        return 2
    config = config_file(args)
    if config is None:
        print("coldchain: les services ont besoin d'un fichier de configuration : "
              "coldchain --config /etc/coldchain/coldchain.toml install --systemd",
              file=sys.stderr)  # fmt: skip
        return 2
    config = config.resolve()
    settings = settings_or_exit(config)
    if "data_dir" not in tomllib.loads(config.read_text()):
        # The units name the data folder (COLDCHAIN_DATA_DIR); the file must too, or a later
        # `coldchain --config FILE status` (backup, broker add-probe…) would look elsewhere.
        print(f"{config} : data_dir = {settings.data_dir}")
        if not args.dry_run:
            config.write_text(f"data_dir = {json.dumps(str(settings.data_dir))}\n"
                              + config.read_text())  # fmt: skip
    if settings.mqtt.managed and not (args.system_broker or args.broker_port):
        if port_open(settings.mqtt.port, "127.0.0.1")() and not our_broker_runs(settings):
            print(port_taken_message(settings, config), file=sys.stderr)
            return 2
    if args.broker_port is not None:
        _edit_config(config, {"port": args.broker_port}, args.dry_run)
    if args.system_broker:
        use_system_broker(settings, config, args)
    if not args.dry_run:
        settings = settings_or_exit(config)  # what the services will read
    install = systemd.Install(
        user=args.user_name,
        coldchain=coldchain_command(config),
        config=config,
        data_dir=settings.data_dir,
        backup_to=args.backup_to.resolve() if args.backup_to else None,
        backup_keep=args.backup_keep,
    )
    names = planned_services(settings)
    if args.system_broker and "broker" in names:  # a dry run did not write managed = false
        names.remove("broker")
    files = systemd.units(install, names)
    if args.dry_run:
        for name, text in files.items():
            print(f"# --- {args.prefix / name}\n{text}")
        print(f"(--dry-run : rien n'est écrit ni activé ; utilisateur {args.user_name})")
        return 0
    args.prefix.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.prefix / name).write_text(text)
        print(f"écrit / written : {args.prefix / name}")
    if not _for_real(args):
        why = "pas root" if os.geteuid() != 0 else f"{args.prefix} n'est pas {SYSTEMD_UNITS}"
        print(f"rien n'est activé ({why}) ; pour démarrer : sudo systemctl daemon-reload && "
              f"sudo systemctl enable --now {systemd.TARGET} coldchain-backup.timer")  # fmt: skip
        return 0
    closed = _closed_to_others(Path(sys.executable).parent)
    if closed is not None:
        print(
            f"attention : l'utilisateur {args.user_name} ne peut pas entrer dans {closed} ; "
            "installez coldchain ailleurs (par exemple /opt/coldchain)",
            file=sys.stderr,
        )
    create_user(args.user_name, settings.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _run(["chown", "-R", f"{args.user_name}:{args.user_name}", str(settings.data_dir)])
    _run(["chgrp", args.user_name, str(config)])
    config.chmod(0o640)  # secrets inside: root and the services only
    _run(["systemctl", "daemon-reload"])
    _run(["systemctl", "enable", "--now", systemd.TARGET, "coldchain-backup.timer"])
    print("services installés ; état : coldchain status ; journaux : journalctl -u 'coldchain-*'")
    return 0


def run_service(args: argparse.Namespace) -> int:
    """Become one of `coldchain up`'s processes (same command, same environment)."""
    settings = settings_or_exit(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    found = {s.name: s for s in services(settings, config_file(args))}
    service = found.get(args.name)
    if service is None:
        print(f"coldchain: pas de service {args.name} avec cette configuration "
              f"(services : {', '.join(found)})", file=sys.stderr)  # fmt: skip
        return 2
    sys.stdout.flush()
    os.execvpe(service.command[0], service.command, {**os.environ, **service.env})
