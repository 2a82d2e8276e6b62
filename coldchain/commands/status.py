"""`coldchain status`: is everything running? Each service, the broker, the two stores, the
probes heard from in the last hour and the data folder's free disk space, in French; exit
status 1 when something needs attention (docs/operations.md, « État »).

A service installed with `coldchain install --systemd` is asked of systemd; otherwise its
process is looked for (as `coldchain up` starts it) and its port knocked on.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from coldchain import broker, clock, systemd
from coldchain.backups import Database
from coldchain.commands.backup import config_file, quiet_alembic
from coldchain.commands.broker import broker_files
from coldchain.commands.install import SYSTEMD_UNITS, planned_services
from coldchain.settings import MqttSettings, Settings
from coldchain.startup import settings_or_exit
from coldchain.supervisor import port_open

log = logging.getLogger(__name__)

SEEN_WITHIN_MS = 3600 * 1000
LOW_DISK = 0.05  # below 5 % free, SQLite and the spool will soon fail to write


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status", help="services, broker, stores, probes seen in the last hour, disk space"
    )
    parser.add_argument("--units", type=Path, default=SYSTEMD_UNITS, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Line:
    label: str
    text: str
    ok: bool


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = entry.read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        found.append((int(entry.parent.name), [a.decode(errors="replace") for a in argv if a]))
    return found


def _contains(argv: Sequence[str], words: Sequence[str]) -> bool:
    return any(list(argv[i : i + len(words)]) == list(words) for i in range(len(argv)))


# How each service's process shows in its command line (coldchain/commands/up.py builds them).
PROCESS_WORDS = {
    "gateway": ("gateway", "run"),
    "alert-worker": ("alert-worker",),
    "server": ("server", "run"),
}


def _of_this_system(pid: int, argv: Sequence[str], config: Path | None, data: Path) -> bool:
    """A process of this system, not of another one on the machine: started with our
    configuration file, or with our data folder in its environment (when readable)."""
    if config is not None and _contains(argv, ("--config", str(config.resolve()))):
        return True
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:  # another user's process
        return False
    named = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"COLDCHAIN_DATA_DIR=")]
    return bool(named) and Path(named[0].decode(errors="replace")).resolve() == data


def _pid_of(service: str, settings: Settings, config: Path | None) -> int | None:
    if service == "broker":
        conf = str(broker_files(settings).config)
        matches = [p for p, argv in _processes() if argv[-2:] == ["-c", conf]]
    else:
        words = PROCESS_WORDS[service]
        ours = ("coldchain", "coldchain.cli")  # the console script, or python -m coldchain.cli
        matches = [
            p for p, argv in _processes()
            if _contains(argv, words) and any(a.endswith(ours) for a in argv)
            and _of_this_system(p, argv, config, settings.data_dir.resolve())
        ]  # fmt: skip
    return min(matches) if matches else None


def reachable(host: str) -> str:
    """Where to knock for a service listening on `host` (every interface: this machine)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _port(service: str, settings: Settings) -> tuple[str, int] | None:
    if service == "broker":
        return reachable(settings.mqtt.host), settings.mqtt.port
    if service == "server":
        return reachable(settings.server.host), settings.server.port
    if service == "gateway" and settings.gateway.metrics_port:
        return reachable(settings.gateway.metrics_addr), settings.gateway.metrics_port
    return None


def _unit_state(unit: str) -> str:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return "inconnu (pas de systemctl)"
    done = subprocess.run([systemctl, "is-active", unit], capture_output=True, text=True)
    answer = (done.stdout.strip() or done.stderr.strip() or "inconnu").splitlines()
    return answer[0]  # active, inactive, failed, activating… or why systemd cannot say


def service_line(service: str, settings: Settings, units: Path, config: Path | None) -> Line:
    unit = systemd.unit_name(service)
    if (units / unit).exists():
        state = _unit_state(unit)
        return Line(service, f"{state} (systemd : {unit})", state == "active")
    pid = _pid_of(service, settings, config)
    where = _port(service, settings)
    answers = where is not None and port_open(where[1], where[0])()
    parts = [f"pid {pid}"] if pid is not None else []
    if where is not None:
        parts.append(f"port {where[1]} {'répond' if answers else 'ne répond pas'}")
    running = pid is not None or answers
    word = "en marche" if running and (where is None or answers) else "arrêté"
    if running and where is not None and not answers:
        word = "démarre ou bloqué"
    return Line(service, f"{word} ({', '.join(parts)})" if parts else word, word == "en marche")


def _broker_login(settings: Settings) -> MqttSettings:
    """The server's account on the managed broker (read, never created here)."""
    mqtt = settings.mqtt
    credentials = broker_files(settings).credentials
    if mqtt.managed and credentials.exists():
        try:
            stored = json.loads(credentials.read_text())
        except (OSError, ValueError) as exc:  # another user's 0600 file: try without
            log.warning("cannot read %s (%s): connecting without the server's account",
                        credentials, exc)  # fmt: skip
            return mqtt
        if broker.SERVER_USER in stored:
            return mqtt.model_copy(
                update={"username": broker.SERVER_USER,
                        "password": SecretStr(stored[broker.SERVER_USER])}
            )  # fmt: skip
    return mqtt


def broker_line(settings: Settings) -> Line:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    mqtt = _broker_login(settings)
    mqtt = mqtt.model_copy(update={"host": reachable(mqtt.host)})
    label = f"broker MQTT {mqtt.host}:{mqtt.port}"
    answered = threading.Event()
    reasons: list[str] = []

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        reasons.append("" if not getattr(reason, "is_failure", True) else str(reason))
        answered.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5,
                         client_id=f"coldchain-status-{secrets.token_hex(4)}")  # fmt: skip
    if mqtt.username:
        client.username_pw_set(mqtt.username, mqtt.password.get_secret_value() if mqtt.password
                               else None)  # fmt: skip
    if mqtt.tls_ca:
        client.tls_set(ca_certs=str(mqtt.tls_ca))
    client.on_connect = on_connect
    try:
        client.connect(mqtt.host, mqtt.port, keepalive=10, clean_start=True)
    except OSError as exc:
        return Line(label, f"injoignable ({exc.strerror or exc})", False)
    client.loop_start()
    try:
        if not answered.wait(5):
            return Line(label, "pas de réponse en 5 s", False)
    finally:
        client.disconnect()
        client.loop_stop()
    account = f"compte {mqtt.username}" if mqtt.username else "sans compte"
    if reasons[0]:
        return Line(label, f"connexion refusée : {reasons[0]} ({account})", False)
    return Line(label, f"connexion acceptée ({account})", True)


def database_line(settings: Settings) -> Line:
    from sqlalchemy.exc import SQLAlchemyError

    from server.core.db import database_revisions, known_revisions, make_engine

    label = "base du serveur"
    file = Database.of(settings.server.database_url)
    if file.is_sqlite and not file.sqlite_path.exists():  # status creates nothing
        return Line(label, f"absente (le serveur n'a jamais démarré) : {file.sqlite_path}", False)
    engine = make_engine(settings.server.database_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        current = database_revisions(engine)
    except SQLAlchemyError as exc:
        return Line(label, f"injoignable ({where}) : {exc.__class__.__name__}", False)
    finally:
        engine.dispose()
    from alembic.script import ScriptDirectory

    from server.core.db import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if not current:
        return Line(label, f"joignable, vide (jamais démarrée) : {where}", True)
    if any(rev not in known_revisions() for rev in current):
        return Line(label, f"schéma {'+'.join(current)} plus récent que ce code : {where}", False)
    state = "à jour" if current == (head,) else f"migration en attente vers {head}"
    return Line(label, f"joignable, schéma {'+'.join(current)} {state} : {where}", True)


def store_and_probes(settings: Settings) -> list[Line]:
    from coldchain.readingstore.registry import make_reading_store

    label = f"magasin de relevés ({settings.store.kind})"
    where = settings.store.sqlite_path if settings.store.kind == "sqlite" else settings.store.url
    if settings.store.kind == "sqlite" and not settings.store.sqlite_path.exists():
        return [Line(label, f"absent (aucun relevé reçu encore) : {where}", False)]
    try:
        store = make_reading_store(settings.store)
        try:
            latest = store.latest()
        finally:
            store.close()
    except Exception as exc:  # any failure of the store (file, network, auth) is the answer
        return [Line(label, f"injoignable ({where}) : {exc}", False)]
    since = clock.now_ms() - SEEN_WITHIN_MS
    seen = sorted({probe for (probe, _channel), r in latest.items() if r.time_ms >= since})
    known = len({probe for probe, _channel in latest})
    names = ", ".join(seen[:12]) + (" …" if len(seen) > 12 else "")
    return [
        Line(label, f"joignable : {where}", True),
        Line(
            "sondes vues dans la dernière heure",
            f"{len(seen)} sur {known} connues" + (f" ({names})" if seen else ""),
            True,
        ),
    ]


def _go(size: float) -> str:
    return f"{size / 1e9:.1f} Go".replace(".", ",")  # the French decimal comma


def disk_line(settings: Settings) -> Line:
    folder = settings.data_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    free = usage.free / usage.total
    text = f"{_go(usage.free)} libres sur {_go(usage.total)} ({free * 100:.0f} %)"
    text += f" : {settings.data_dir}"
    return Line("espace disque", text + (" — presque plein !" if free < LOW_DISK else ""),
                free >= LOW_DISK)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    quiet_alembic()
    settings = settings_or_exit(args.config)
    config = config_file(args)
    lines = [service_line(s, settings, args.units, config) for s in planned_services(settings)]
    lines += [broker_line(settings), database_line(settings)]
    lines += store_and_probes(settings)
    lines.append(disk_line(settings))
    now = clock.local(clock.utcnow()).strftime("%d/%m/%Y %H:%M")
    print(f"coldchain — état au {now}")
    width = max(len(line.label) for line in lines)
    for line in lines:
        print(f"  {'ok ' if line.ok else '!! '} {line.label:<{width}}  {line.text}")
    problems = sum(not line.ok for line in lines)
    print("tout va bien" if not problems else f"{problems} point(s) à vérifier (!!)")
    return 0 if not problems else 1
