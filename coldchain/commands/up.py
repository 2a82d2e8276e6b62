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

from coldchain import broker, certificates, network
from coldchain.commands.broker import broker_files
from coldchain.mqtt.session import anonymous_accepted
from coldchain.readingstore.check import store_problem
from coldchain.settings import Settings
from coldchain.startup import (
    forget_running,
    record_running,
    refuse_unusable,
    settings_for_start,
)
from coldchain.supervisor import Service, Supervisor, port_open

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up", help="start the broker, the gateway and the server; Ctrl-C stops them"
    )
    parser.add_argument(
        "--lan",
        action="store_true",
        help="listen on the local network too (phones, probes: MQTT over TLS); setting: lan",
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


def services(
    settings: Settings,
    config: Path | None = None,
    *,
    lan: bool = False,
    lan_ips: list[str] | None = None,
) -> list[Service]:
    """The processes `coldchain up` supervises; `config` is the file `settings` came from.

    `lan` (or the `lan` setting): the server listens on every interface, and the managed
    broker adds its TLS listener there (`mqtt.tls_port`, certificates from
    coldchain/certificates.py naming `lan_ips`); its plain listener stays on `mqtt.host`
    for this machine's services unless `mqtt.plain_on_lan`."""
    lan = lan or settings.lan
    coldchain = coldchain_command(config)
    found: list[Service] = []
    gateway_env: dict[str, str] = {}
    server_env: dict[str, str] = {}
    # The servers' accounts are named after their client ids: the broker binds one to the
    # other (coldchain/broker.py), so no probe can take their sessions.
    gateway, alerts = settings.gateway.client_id, settings.alerting.client_id
    if settings.mqtt.managed:
        tls_listener = None
        if lan:
            tls = certificates.broker_tls(
                settings, network.lan_addresses() if lan_ips is None else lan_ips
            )
            tls_listener = broker.TlsListener(network.ALL_INTERFACES, settings.mqtt.tls_port, tls)
        plain_bind = (
            network.ALL_INTERFACES if lan and settings.mqtt.plain_on_lan else settings.mqtt.host
        )
        files = broker.write_config(
            broker_files(settings).directory,
            settings.mqtt.port,
            bind=plain_bind,
            tls_listener=tls_listener,
            gateways=(gateway,),
            servers=(alerts,),
        )
        found.append(
            Service(
                "broker",
                [broker.mosquitto_binary(), "-c", str(files.config)],
                ready=port_open(settings.mqtt.port, settings.mqtt.host),
            )
        )
    if settings.mqtt.managed or settings.mqtt.coldchain_accounts:
        credentials = broker.service_credentials(broker_files(settings), (gateway, alerts))
        gateway_env = {
            "COLDCHAIN_MQTT__USERNAME": gateway,
            "COLDCHAIN_MQTT__PASSWORD": credentials[gateway],
        }
        server_env = {
            "COLDCHAIN_MQTT__USERNAME": alerts,
            "COLDCHAIN_MQTT__PASSWORD": credentials[alerts],
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
    server_host = settings.server.host
    if pages_on_lan(settings, lan):
        server_env["COLDCHAIN_SERVER__HOST"] = network.ALL_INTERFACES
        server_host = "127.0.0.1"  # the readiness check: every interface includes loopback
    found.append(
        Service(
            "server",
            [*coldchain, "server", "run"],
            env=server_env,
            ready=port_open(settings.server.port, server_host),
        )
    )
    return found


def pages_on_lan(settings: Settings, lan: bool) -> bool:
    """With `lan` the server listens on every interface, unless `server.host` is set: behind
    a reverse proxy (docs/https.md) it stays on loopback while the broker opens to probes."""
    return (lan or settings.lan) and "host" not in settings.server.model_fields_set


def beyond_loopback(settings: Settings, lan: bool) -> bool:
    """Whether this start lets other machines in (by --lan, the setting, or a host)."""
    hosts = [settings.server.host] + ([settings.mqtt.host] if settings.mqtt.managed else [])
    return lan or settings.lan or not all(network.is_loopback(host) for host in hosts)


def refusal(settings: Settings, lan: bool) -> str | None:
    """Why this start must not open to the network, in French and English; None: it may."""
    if not beyond_loopback(settings, lan):
        return None
    mqtt = settings.mqtt
    if mqtt.managed and not network.is_loopback(mqtt.host) and not mqtt.plain_on_lan:
        return (
            f"mqtt.host = {mqtt.host} ouvrirait le MQTT en clair au réseau ; les sondes passent "
            "par TLS (mqtt.tls_port). Pour l'autoriser quand même : mqtt.plain_on_lan = true. / "
            f"mqtt.host = {mqtt.host} would open plain MQTT to the network; probes use TLS "
            "(mqtt.tls_port). To allow it anyway: mqtt.plain_on_lan = true."
        )
    if mqtt.managed:
        return None  # the generated configuration always asks for a password (checked below)
    anonymous = anonymous_accepted(mqtt)
    if anonymous:
        return (
            f"le broker {mqtt.host}:{mqtt.port} accepte les clients anonymes : refusé d'écouter "
            "sur le réseau (allow_anonymous false dans sa configuration, docs/https.md). / "
            f"the broker {mqtt.host}:{mqtt.port} accepts anonymous clients: refusing to listen "
            "beyond loopback (set allow_anonymous false, docs/https.md)."
        )
    if anonymous is None:
        log.warning(
            "broker %s:%s unreachable: its anonymous access is not checked", mqtt.host, mqtt.port
        )
    return None


def addresses(settings: Settings, lan: bool, lan_ips: list[str]) -> str:
    """The lines of the banner that say where the pages and the broker are reached."""
    on_lan = pages_on_lan(settings, lan)
    server_host = "127.0.0.1" if on_lan else settings.server.host
    server = f"http://{server_host}:{settings.server.port}/"
    managed = " (géré / managed)" if settings.mqtt.managed else ""
    lines = [
        f"  pages et API : {server}",
        f"  broker MQTT  : {settings.mqtt.host}:{settings.mqtt.port}{managed}",
    ]
    if not lan:
        lines.append("  téléphones et sondes / phones and probes : coldchain up --lan")
        return "\n".join(lines)
    if on_lan:
        lines.append("  depuis un téléphone / from a phone :")
        lines += [f"    {url}" for url in network.page_addresses(settings, lan_ips)]
    else:
        lines.append("  téléphones / phones : par le proxy HTTPS / through the HTTPS proxy")
    host, port = network.probe_broker_address(settings)
    ca = certificates.probe_ca_file(settings)
    if settings.mqtt.managed:
        names = [
            *network.host_names(),
            *([settings.mqtt.public_host] if settings.mqtt.public_host else []),
            *lan_ips,
        ]
        where = ", ".join(f"{name}:{port}" for name in dict.fromkeys(names))
    else:
        where = f"{host}:{port}"
    lines.append(f"  sondes / probes (MQTT{' TLS' if ca else ''}) : {where}")
    if ca is not None:
        lines.append(f"    CA de chaque sonde / CA each probe carries : {ca}")
    if settings.mqtt.managed and settings.mqtt.plain_on_lan:
        lines.append(
            f"  MQTT en clair sur le réseau / plain MQTT on the LAN : port {settings.mqtt.port}"
        )
    return "\n".join(lines)


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


def port_taken(name: str, host: str, port: int) -> str:
    message = f"coldchain: {host}:{port} est déjà pris / is already in use ({name}).\n"
    if name.startswith("mqtt."):
        variable = "COLDCHAIN_" + name.upper().replace(".", "__")
        message += (
            "  Un Mosquitto du système ? / A system Mosquitto? (systemctl status mosquitto)\n"
            f"  - un autre port / another port : {name} = {port + 1} dans le fichier de "
            f"configuration / in the configuration file (ou / or {variable}={port + 1})\n"
            "  - ou arrêter le service / or stop the service : "
            "sudo systemctl disable --now mosquitto\n"
            "  - ou utiliser ce broker / or use that broker : mqtt.managed = false (docs/https.md)"
        )
    else:
        message += f"  Arrêtez ce qui y écoute ou changez {name} / stop what listens or change it."
    return message


def run(args: argparse.Namespace) -> int:
    from server.core.database_check import database_problem

    # Production unless the mode is named; the secret key made in the data folder at first
    # start; a production store that does not answer as configured stops the start here.
    settings = settings_for_start(args.config, default_mode="production")
    refuse_unusable(database_problem(settings.server.database_url), store_problem(settings.store))
    lan = bool(args.lan) or settings.lan
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    refused = refusal(settings, lan)
    if refused is not None:
        print(f"coldchain: {refused}", file=sys.stderr)
        return 2
    ports = [("mqtt.port", settings.mqtt.host, settings.mqtt.port)] if settings.mqtt.managed else []
    if settings.mqtt.managed and lan:
        ports.append(("mqtt.tls_port", "127.0.0.1", settings.mqtt.tls_port))
    server_host = "127.0.0.1" if pages_on_lan(settings, lan) else settings.server.host
    ports.append(("server.port", server_host, settings.server.port))
    for name, host, port in ports:
        if port_open(port, host)():
            print(port_taken(name, host, port), file=sys.stderr)
            return 2
    lan_ips = network.lan_addresses() if lan else []
    try:
        supervised = services(settings, args.config, lan=lan, lan_ips=lan_ips)
    except (ValueError, OSError) as exc:  # a service account name or a certificate file
        print(f"coldchain: {exc}", file=sys.stderr)
        return 2
    if (
        settings.mqtt.managed
        and broker.allows_anonymous(broker_files(settings))
        and beyond_loopback(settings, lan)
    ):
        print(
            "coldchain: broker anonyme : refusé sur le réseau / anonymous broker: not on the LAN",
            file=sys.stderr,
        )
        return 2
    supervisor = Supervisor(supervised, settings.data_dir.resolve() / "logs")
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    try:
        record_running(settings, args.config)  # `coldchain` from any folder finds this system
        login = first_admin(args.config)
        supervisor.start()
        print(
            f"coldchain tourne / is running:\n"
            f"{addresses(settings, lan, lan_ips)}\n"
            f"{login}\n"
            f"  données      : {settings.data_dir} (mode {settings.mode})\n"
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
        forget_running()
    return 0
