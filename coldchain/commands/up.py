"""`coldchain up`: the whole system with one command.

With no configuration: Mosquitto with a generated config (per-probe passwords and ACL,
persistence on, queues raised), the gateway on the embedded SQLite store, the alert worker
and the server.
With configuration (`mqtt.managed = false`, `store.kind = "influxdb1"`...), the same
command uses the existing broker and InfluxDB. Ctrl-C stops everything; no orphans.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
from pathlib import Path

from coldchain import broker
from coldchain.commands.broker import broker_files
from coldchain.settings import Settings
from coldchain.startup import settings_or_exit
from coldchain.supervisor import Service, Supervisor, port_open

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up", help="start the broker, the gateway and the server; Ctrl-C stops them"
    )
    parser.set_defaults(handler=run)


def coldchain_command(config: Path | None) -> list[str]:
    """The `coldchain` command every process started here runs: with the configuration file
    the parent was given (made absolute), so each child reads the same settings. Without one
    they read $COLDCHAIN_CONFIG and the environment, inherited like the parent's."""
    command = [sys.executable, "-m", "coldchain.cli"]
    if config is not None:
        command += ["--config", str(config.resolve())]
    return command


def services(settings: Settings, config: Path | None = None) -> list[Service]:
    """The processes `coldchain up` supervises; `config` is the file `settings` came from."""
    coldchain = coldchain_command(config)
    found: list[Service] = []
    gateway_env: dict[str, str] = {}
    server_env: dict[str, str] = {}
    if settings.mqtt.managed:
        files = broker.write_config(
            broker_files(settings).directory, settings.mqtt.port, bind=settings.mqtt.host
        )
        credentials = broker.service_credentials(files)
        found.append(
            Service(
                "broker",
                [broker.mosquitto_binary(), "-c", str(files.config)],
                ready=port_open(settings.mqtt.port, settings.mqtt.host),
            )
        )
        gateway_env = {
            "COLDCHAIN_MQTT__USERNAME": broker.GATEWAY_USER,
            "COLDCHAIN_MQTT__PASSWORD": credentials[broker.GATEWAY_USER],
        }
        server_env = {
            "COLDCHAIN_MQTT__USERNAME": broker.SERVER_USER,
            "COLDCHAIN_MQTT__PASSWORD": credentials[broker.SERVER_USER],
        }
    if "shared_subscription" not in settings.gateway.model_fields_set:
        # One gateway here: a plain subscription survives a Mosquitto 2.0 restart, a shared
        # one is forgotten by the broker until re-subscribed (measured, docs/gateway.md).
        gateway_env["COLDCHAIN_GATEWAY__SHARED_SUBSCRIPTION"] = "false"
    found.append(Service("gateway", [*coldchain, "gateway", "run"], env=gateway_env))
    worker_env = dict(server_env)
    if "shared_subscription" not in settings.alerting.model_fields_set:
        worker_env["COLDCHAIN_ALERTING__SHARED_SUBSCRIPTION"] = "false"
    if not settings.alerting.in_server:
        found.append(Service("alert-worker", [*coldchain, "alert-worker"], env=worker_env))
    found.append(
        Service(
            "server",
            [*coldchain, "server", "run"],
            env=server_env,
            ready=port_open(settings.server.port, settings.server.host),
        )
    )
    return found


FIRST_ADMIN = "admin@coldchain.local"


def first_admin(config: Path | None) -> str:
    """Create the first administrator on a fresh database; say how to log in either way."""
    password = broker.new_password()
    created = subprocess.run(
        [*coldchain_command(config), "server", "create-admin", FIRST_ADMIN, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
    )
    if created.returncode == 0:
        return (
            f"  connexion / log in : {FIRST_ADMIN} / {password}\n"
            "  (mot de passe affiché une seule fois / shown only once: changez-le / change it)"
        )
    if "already exists" in created.stderr:
        return f"  connexion / log in : {FIRST_ADMIN} (mot de passe donné au premier démarrage)"
    raise RuntimeError(f"could not create the first administrator: {created.stderr.strip()}")


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for name, host, port in (
        ("mqtt.port", settings.mqtt.host, settings.mqtt.port),
        ("server.port", settings.server.host, settings.server.port),
    ):
        if (name != "mqtt.port" or settings.mqtt.managed) and port_open(port, host)():
            print(
                f"coldchain: {host}:{port} is already in use ({name}); stop what listens there "
                "(a system Mosquitto: sudo systemctl disable --now mosquitto) or change "
                f"{name}",
                file=sys.stderr,
            )
            return 2
    supervisor = Supervisor(services(settings, args.config), settings.data_dir.resolve() / "logs")
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    try:
        login = first_admin(args.config)
        supervisor.start()
        print(
            f"coldchain tourne / is running:\n"
            f"  pages et API : http://{settings.server.host}:{settings.server.port}/\n"
            f"  broker MQTT  : {settings.mqtt.host}:{settings.mqtt.port}"
            f"{' (géré / managed)' if settings.mqtt.managed else ''}\n"
            f"{login}\n"
            f"  journaux     : {supervisor.log_dir}\n"
            "  nouvelle sonde / new probe : coldchain broker add-probe <id>\n"
            "Ctrl-C pour arrêter / to stop.",
            flush=True,
        )
        supervisor.run()
    except (RuntimeError, TimeoutError) as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop()
    return 0
