"""`coldchain demo`: the whole system through a scripted day of three cooperatives (docs/demo.md).

    coldchain demo --speed 60      # a 5 h 30 day in 5 min 30 s, then real time until Ctrl-C

It starts what `coldchain up` starts (Mosquitto, gateway, alert worker, server) in a fresh
folder (`var/demo` by default), with the demo clock (coldchain/clock.py): the day starts a
little in the past and runs `speed` times faster until it meets real time at its end, so
nothing is ever in the future and the system simply goes on in real time afterwards. Everyone
is registered through the HTTP API (coldchain/demo/seed.py), the probes run the real firmware
under MicroPython (coldchain/demo/probes.py), and the drivers' actions happen at their minute.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from coldchain import broker, clock
from coldchain.commands.broker import broker_files
from coldchain.commands.up import coldchain_command, services
from coldchain.demo import day, probes, seed
from coldchain.settings import ClockSettings, Settings
from coldchain.startup import forget_running, record_running, settings_or_exit
from coldchain.supervisor import Service, Supervisor, port_open

log = logging.getLogger(__name__)
MARKER = ".coldchain-demo"  # only a folder holding this is wiped by the next demo
ROOT_EMAIL = "admin@coldchain.local"
SETUP_S = 25.0  # real seconds given to start the services and register everyone


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="a scripted day of three cooperatives on the whole system (docs/demo.md)"
    )
    parser.add_argument(
        "--speed", type=float, default=60.0, help="how many times faster than real time (60)"
    )
    parser.add_argument("--dir", type=Path, default=Path("var/demo"), help="the demo's folder")
    parser.add_argument(
        "--exit-after-day", action="store_true", help="stop everything when the day is over"
    )
    parser.add_argument(
        "--lang",
        choices=seed.LANGUAGES,
        default="fr",
        help="the language of the demo's people, pages, documents and probe displays (fr)",
    )
    parser.set_defaults(handler=run)


def demo_environment(
    folder: Path, clock_settings: ClockSettings, named: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """Settings every process of the demo shares (environment wins over a config file).

    The server's database and the reading store are the demo's own SQLite files, unless the
    environment (`named`) already names them: COLDCHAIN_SERVER__DATABASE_URL for an empty
    PostgreSQL database, COLDCHAIN_STORE__* for an InfluxDB (docs/demo.md). A configuration
    file never does: the demo must not seed a real installation's database by accident."""
    storage: dict[str, str] = {}
    if "COLDCHAIN_SERVER__DATABASE_URL" not in named:
        storage["COLDCHAIN_SERVER__DATABASE_URL"] = f"sqlite:///{folder / 'coldchain.sqlite3'}"
    if not any(key.startswith("COLDCHAIN_STORE__") for key in named):
        storage["COLDCHAIN_STORE__KIND"] = "sqlite"
        storage["COLDCHAIN_STORE__SQLITE_PATH"] = str(folder / "readings.sqlite3")
    return storage | {
        "COLDCHAIN_DATA_DIR": str(folder),
        "COLDCHAIN_MODE": "development",  # the accelerated clock is refused in production
        "COLDCHAIN_GATEWAY__SPOOL_PATH": str(folder / "gateway-spool.sqlite3"),
        "COLDCHAIN_CLOCK__SPEED": str(clock_settings.speed),
        "COLDCHAIN_CLOCK__MEETS_REAL_AT": str(clock_settings.meets_real_at),
        # A demo minute lasts one real second at 60x: the worker must look often.
        "COLDCHAIN_ALERTING__REFRESH_S": "0.5",
        "COLDCHAIN_ALERTING__SILENCE_CHECK_S": "1",
        "COLDCHAIN_ALERTING__STATE_SAVE_S": "2",
        "COLDCHAIN_RECORDS__SEAL_EVERY_S": "2",  # a late backlog reseals within the day
    }


def language_environment(lang: str) -> dict[str, str]:
    """The demo's language for every process: the site's default (the login page, anyone who
    chose none) and the alerting language (the probes' displays, e-mails). Each person's own
    choice is stored at registration (coldchain/demo/seed.py); the operator's printed text
    stays as it is."""
    return {"COLDCHAIN_SERVER__DEFAULT_LANGUAGE": lang, "COLDCHAIN_ALERTING__LANGUAGE": lang}


def fresh_folder(folder: Path) -> None:
    if folder.exists():
        if not (folder / MARKER).exists():
            raise RuntimeError(f"{folder} exists and is not a demo folder: choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("coldchain demo: wiped by the next `coldchain demo`\n")


def create_root(password: str, config: Path | None) -> None:
    made = subprocess.run(
        [*coldchain_command(config), "server", "create-admin", ROOT_EMAIL, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise RuntimeError(f"could not create the administrator: {made.stderr.strip()}")


def credentials_text(cast: seed.Cast, root_password: str, url: str) -> str:
    lines = [
        f"Démo coldchain : {url}",
        "Identifiants (changés à chaque démo) / credentials (new for every demo):",
        f"  {'installation (superutilisateur)':48} {ROOT_EMAIL:34} {root_password}",
    ]
    for person in cast.people.values():
        who = f"{seed.ROLE_WORDS.get(person.role, person.role)} — {person.organisation}"
        lines.append(f"  {who:48} {person.email:34} {person.password}")
    return "\n".join(lines) + "\n"


class DayDriver(threading.Thread):
    """Starts the probes, then does each driver's action at its minute of the day."""

    def __init__(
        self, cast: seed.Cast, supervisor: Supervisor, probe_services: list[Service], speed: float
    ):
        super().__init__(name="demo-day", daemon=True)
        self.cast = cast
        self.supervisor = supervisor
        self.probe_services = probe_services
        self.speed = speed
        self.failures: list[str] = []
        self.done = threading.Event()
        self.stop = threading.Event()

    def wait_for(self, minute: float) -> bool:
        """Until the demo clock reaches that minute of the day; False if asked to stop."""
        due = self.cast.at(minute).timestamp()
        while not self.stop.is_set():
            left = due - clock.now_s()
            if left <= 0:
                return True
            self.stop.wait(min(1.0, left / self.speed))
        return False

    def run(self) -> None:
        # At once, not at minute 0: the probes boot and connect during the rest of the setup
        # (their installations start at minute 0, when the worker starts counting silence),
        # and the scenario holds its first values until the day starts.
        self.supervisor.services.extend(self.probe_services)  # its watch loop starts them
        say(self.cast, 0, f"{len(self.probe_services)} sondes démarrent")
        for action in seed.actions():
            if not self.wait_for(action.at_min):
                return
            try:
                seed.perform(self.cast, action)
                say(self.cast, action.at_min, action.describe())
            except (seed.DemoError, OSError) as exc:
                self.failures.append(f"{action.describe()}: {exc}")
                log.error("demo: %s failed: %s", action.describe(), exc)
        if self.wait_for(day.DAY_MIN):
            say(self.cast, day.DAY_MIN, "journée terminée / day over: real time from now on")
            self.done.set()


def stop_after_day(driver: DayDriver, supervisor: Supervisor) -> None:
    driver.done.wait()
    supervisor.request_stop()


def say(cast: seed.Cast, minute: float, text: str) -> None:
    local = cast.at(minute).astimezone(clock.zone()).strftime("%H:%M")
    print(f"[démo {local}] {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.speed <= 1000:
        print("coldchain: --speed between 1 and 1000", file=sys.stderr)
        return 2
    folder: Path = args.dir.resolve()
    launch = time.time()
    t0 = launch + SETUP_S
    meets = t0 + day.DAY_MIN * 60 / args.speed
    clock_settings = ClockSettings(speed=args.speed, meets_real_at=meets)
    os.environ.update(demo_environment(folder, clock_settings))
    os.environ.update(language_environment(args.lang))
    settings: Settings = settings_or_exit(args.config)
    demo_clock = probes.DemoClock(args.speed, meets, t0)
    for name, host, port in (
        ("mqtt.port", settings.mqtt.host, settings.mqtt.port),
        ("server.port", settings.server.host, settings.server.port),
    ):
        if port_open(port, host)():
            print(f"coldchain: {host}:{port} is already in use ({name})", file=sys.stderr)
            return 2
    try:  # only now: a demo already running keeps its folder
        fresh_folder(folder)
    except RuntimeError as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 2
    supervisor = Supervisor(services(settings, args.config), folder / "logs")
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    url = f"http://{settings.server.host}:{settings.server.port}"
    driver: DayDriver | None = None
    try:
        root_password = broker.new_password()
        record_running(settings, args.config)  # `coldchain broker ...` from anywhere finds it
        create_root(root_password, args.config)
        supervisor.start()
        files = broker_files(settings)
        micropython = probes.micropython_binary()
        probe_services = []
        for probe in day.PROBES:
            password = broker.new_password()
            broker.set_password(files, probe.probe_id, password)
            probe_services.append(
                probes.probe_service(
                    probe,
                    folder / "probes",
                    demo_clock,
                    settings.mqtt.host,
                    settings.mqtt.port,
                    password,
                    micropython,
                )
            )
        broker.reload(files)
        day_start = datetime.fromtimestamp(demo_clock.day_start, UTC)
        cast = seed.seed(seed.Api(url).login(ROOT_EMAIL, root_password), day_start, args.lang)
        text = credentials_text(cast, root_password, url)
        (folder / "identifiants.txt").write_text(text)
        print(text, flush=True)
        if micropython is None:
            print(
                "(MicroPython absent: probes simulated in Python, not the firmware; docs/demo.md)"
            )
        late_s = time.time() - t0
        if late_s > 0:
            # The day started during the setup (a slow or busy machine): its first minutes
            # pass at once, and a scenario there may be judged late or missed.
            print(
                f"Attention : la mise en place a dépassé de {late_s:.0f} s les {SETUP_S:g} s "
                f"prévues ; les premières minutes de la journée sont déjà passées "
                f"(setup overran by {late_s:.0f} s).",
                flush=True,
            )
        print(
            f"La journée commence ; {args.speed:g} fois plus vite que le temps réel, "
            f"elle finit dans {max(0, meets - time.time()) / 60:.1f} min. Ctrl-C pour arrêter.",
            flush=True,
        )
        driver = DayDriver(cast, supervisor, probe_services, args.speed)
        driver.start()
        if args.exit_after_day:
            threading.Thread(target=stop_after_day, args=(driver, supervisor), daemon=True).start()
        supervisor.run()
    except (RuntimeError, TimeoutError, seed.DemoError, OSError) as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 1
    finally:
        if driver is not None:
            driver.stop.set()
        supervisor.stop()
        forget_running()
    if driver is not None and driver.failures:
        print(
            "coldchain demo: some steps failed:\n  " + "\n  ".join(driver.failures), file=sys.stderr
        )
        return 1
    return 0
