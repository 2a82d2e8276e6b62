"""`coldchain probe flash` (coldchain/commands/probe.py), run as the volunteer runs it.

Only the board is fake, because no ESP32 is plugged into this machine: the serial port is a
plain file, and `mpremote` / `esptool` are found first on the PATH as two small recorders.
The fake mpremote keeps the board's file system in a folder, copies what `fs cp` is given
into it, and runs what `exec` is given on the real MicroPython unix port in that folder (so
the command's own board-side code is really run); the fake esptool records its arguments
and "installs" MicroPython on a blank board. Everything else is real: mpy-cross compiles the
firmware, the provisioning file is the admin page's, the broker password file is
Mosquitto's. The files the command writes are checked byte for byte."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import zipfile
from base64 import b64decode
from pathlib import Path

import pytest

from coldchain import broker, firmware_build, provisioning
from coldchain.cli import main
from coldchain.commands import probe as probe_command
from tests.harness.servers import MicroPython, make_certificates, require_binary

FAKE_MPREMOTE = """\
import json, os, shutil, subprocess, sys
board = os.environ["FAKE_BOARD"]
root = os.path.join(board, "fs")
with open(os.path.join(board, "calls.jsonl"), "a") as log:
    log.write(json.dumps(["mpremote", *sys.argv[1:]]) + "\\n")
args = sys.argv[1:]
assert args[:2] == ["connect", os.environ["FAKE_PORT"]], args
command = args[2:]
if os.path.exists(os.path.join(board, "blank")):
    print("mpremote: could not enter raw repl", file=sys.stderr)
    sys.exit(1)
if command[0] == "exec" and "_mpy" in command[1] and os.environ.get("FAKE_MPY"):
    print("micropython", os.environ["FAKE_MPY"])  # an older MicroPython on the board
    sys.exit(0)
if command[0] == "exec":
    done = subprocess.run([os.environ["FAKE_MICROPYTHON"], "-c", command[1]], cwd=root)
    sys.exit(done.returncode)
if command[:2] == ["fs", "cp"]:
    *sources, target = command[2:]
    assert target == ":", target
    for source in sources:
        shutil.copyfile(source, os.path.join(root, os.path.basename(source)))
    sys.exit(0)
if command == ["reset"]:
    sys.exit(0)
sys.exit(f"fake mpremote: unexpected {command}")
"""

FAKE_ESPTOOL = """\
import json, os, shutil, sys
board = os.environ["FAKE_BOARD"]
with open(os.path.join(board, "calls.jsonl"), "a") as log:
    log.write(json.dumps(["esptool", *sys.argv[1:]]) + "\\n")
if "erase-flash" in sys.argv:
    shutil.rmtree(os.path.join(board, "fs"))
    os.mkdir(os.path.join(board, "fs"))
if "write-flash" in sys.argv:
    os.remove(os.path.join(board, "blank"))
"""

COMPILED = [
    "alarm.mpy", "board_esp32.mpy", "clock.mpy", "contract.mpy", "fsqueue.mpy", "mqtt.mpy",
    "persist.mpy", "probe.mpy", "sensors.mpy", "serial_link.mpy", "uplink.mpy",
]  # fmt: skip


class FakeBoard:
    def __init__(self, folder: Path, micropython: MicroPython, monkeypatch: pytest.MonkeyPatch):
        self.folder = folder
        self.fs = folder / "fs"
        self.fs.mkdir(parents=True)
        self.port = folder / "ttyUSB0"  # the serial device: only its existence is checked
        self.port.touch()
        tools = folder / "bin"
        tools.mkdir()
        for name, script in (("mpremote", FAKE_MPREMOTE), ("esptool", FAKE_ESPTOOL)):
            path = tools / name
            path.write_text(f"#!{sys.executable}\n{script}")
            path.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_BOARD", str(folder))
        monkeypatch.setenv("FAKE_PORT", str(self.port))
        monkeypatch.setenv("FAKE_MICROPYTHON", micropython.binary)
        monkeypatch.setattr(probe_command, "BOOT_WAIT_S", 0)

    def calls(self) -> list[list[str]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.fs.iterdir()) if p.is_file()}


@pytest.fixture
def board(tmp_path: Path, micropython: MicroPython, monkeypatch: pytest.MonkeyPatch) -> FakeBoard:
    return FakeBoard(tmp_path / "board", micropython, monkeypatch)


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What mpy-cross makes of the firmware for the ESP32, compiled here independently."""
    out = tmp_path_factory.mktemp("expected") / "esp32"
    return {p.name: p.read_bytes() for p in firmware_build.build(out)}


def ca_pem(tmp_path: Path) -> bytes:
    ca, _, _, _ = make_certificates(tmp_path / "pki")
    return ca.read_bytes()


def flash(*args: str) -> int:
    return main(["probe", "flash", *args])


def test_flash_writes_the_compiled_firmware_and_the_provisioning_file(
    board: FakeBoard,
    firmware: dict[str, bytes],
    micropython: MicroPython,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ca = ca_pem(tmp_path)
    made = provisioning.Provisioning(
        "van2-zone-a", "froid.local", 8883, "s3cret-Pw", ca,
        (provisioning.Wifi("coop-depot", "wifi-pw"),), 30,
    )  # fmt: skip
    zipped = tmp_path / made.file_name
    zipped.write_bytes(made.archive())
    (board.fs / "probe.py").write_text("old source: would be imported before probe.mpy\n")
    (board.fs / "data").mkdir()  # the probe's unsent readings: left alone

    sensors = ["--ds18b20", "28FF641E8316035A=air", "--ds18b20", "28ff9a2c7116048e=product"]
    args = ["--port", str(board.port), "--provisioning", str(zipped), *sensors, "--sht", "sht4x"]
    assert flash("van2-zone-a", *args) == 0

    on_board = board.files()
    assert set(on_board) == {*COMPILED, "main.py", "config.json", "ca.pem"}
    assert (board.fs / "data").is_dir()
    for name in COMPILED:
        assert on_board[name] == firmware[name], name
    assert on_board["main.py"] == (firmware_build.FIRMWARE / "main.py").read_bytes()
    assert on_board["ca.pem"] == ca
    config = json.loads(on_board["config.json"])
    assert config == {
        "id": "van2-zone-a",
        "transport": "mqtt",
        "wifi": [{"ssid": "coop-depot", "password": "wifi-pw"}],
        "mqtt": {
            "host": "froid.local",
            "port": 8883,
            "tls": True,
            "user": "van2-zone-a",
            "password": "s3cret-Pw",
            "ca_file": "ca.pem",
        },
        "interval_s": 30,
        "sensors": {
            "ds18b20": {"28ff641e8316035a": "air", "28ff9a2c7116048e": "product"},
            "sht": {"family": "sht4x", "addr": 68},
        },
    }
    downloaded = json.loads(zipfile.ZipFile(io.BytesIO(made.archive())).read("config.json"))
    assert {k: v for k, v in config.items() if k != "sensors"} == downloaded
    # In order: is it MicroPython; stop the running firmware (main.py and stale sources
    # away), reset; copy the modules and the configuration, then main.py; reset.
    port = str(board.port)
    steps = [c[3:] if c[0] == "mpremote" else c for c in board.calls()]
    assert [s[0] for s in steps] == ["exec", "exec", "reset", "fs", "fs", "reset"]
    assert all(c[:3] == ["mpremote", "connect", port] for c in board.calls())
    assert [Path(a).name for a in steps[3][2:-1]] == [*COMPILED, "ca.pem", "config.json"]
    assert [Path(a).name for a in steps[4][2:-1]] == ["main.py"]
    assert "esptool" not in {c[0] for c in board.calls()}
    # The firmware copied loads on MicroPython (only bytecode: no architecture in the .mpy).
    loaded = micropython.run("import contract, fsqueue, mqtt, probe, uplink; print('ok')",
                             module_path=[board.fs])  # fmt: skip
    assert loaded.stdout.strip() == "ok", loaded.stderr
    out = capsys.readouterr().out
    assert "s3cret-Pw" not in out and "wifi-pw" not in out  # no password on the screen


def test_a_blank_board_gets_micropython_only_when_given_and_confirmed(
    board: FakeBoard,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = provisioning.Provisioning("cr1", "10.0.0.1", 1883, "pw", None)
    zipped = tmp_path / made.file_name
    zipped.write_bytes(made.archive())
    (board.folder / "blank").touch()
    base = ["cr1", "--port", str(board.port), "--provisioning", str(zipped)]

    assert flash(*base) == 2
    assert "aucun MicroPython ne répond" in capsys.readouterr().err
    image = tmp_path / "ESP32_GENERIC-v1.29.0.bin"
    image.write_bytes(b"\xe9" + bytes(1023))
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert flash(*base, "--micropython", str(image)) == 2
    assert "rien n'est effacé" in capsys.readouterr().err
    assert "esptool" not in {c[0] for c in board.calls()}

    monkeypatch.setattr("builtins.input", lambda _prompt: "o")
    assert flash(*base, "--micropython", str(image)) == 0
    esptool = [c for c in board.calls() if c[0] == "esptool"]
    port = str(board.port)
    assert esptool == [
        ["esptool", "--chip", "esp32", "--port", port, "erase-flash"],
        ["esptool", "--chip", "esp32", "--port", port, "--baud", "460800",
         "write-flash", "-z", "0x1000", str(image)],
    ]  # fmt: skip
    files = board.files()
    assert "ca.pem" not in files and json.loads(files["config.json"])["mqtt"]["tls"] is False


def test_bad_input_gets_a_french_refusal(
    board: FakeBoard,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = provisioning.Provisioning("other-probe", "h", 1883, "pw", None)
    zipped = tmp_path / "other.zip"
    zipped.write_bytes(other.archive())
    port = str(board.port)
    cases: list[tuple[list[str], str]] = [
        (["Bad Id", "--port", port, "--provisioning", str(zipped)], "identifiant de sonde"),
        (["cr1", "--port", str(tmp_path / "ttyUSB9")], "port série"),
        (["cr1", "--port", port, "--provisioning", str(zipped)], "pas de cr1"),
        (["cr1", "--port", port, "--provisioning", str(tmp_path / "missing.zip")], "illisible"),
        (["cr1", "--port", port, "--interval", "5"], "entre 10 et 300"),
    ]
    own = provisioning.Provisioning("cr1", "h", 1883, "pw", None)
    (tmp_path / "cr1.zip").write_bytes(own.archive())
    mine = ["cr1", "--port", port, "--provisioning", str(tmp_path / "cr1.zip")]
    cases += [
        ([*mine, "--ds18b20", "28ff=air"], "identifiant DS18B20 invalide"),
        ([*mine, "--ds18b20", "28ff641e8316035a=door"], "canal inconnu"),
        ([*mine, "--ds18b20", "28ff641e8316035a"], "ROM=CANAL attendu"),
        ([*mine, "--sht", "bme280"], "capteur SHT inconnu"),
    ]

    def archive_of(name: str, files: dict[str, bytes]) -> str:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for inside, data in files.items():
                archive.writestr(inside, data)
        (tmp_path / name).write_bytes(out.getvalue())
        return str(tmp_path / name)

    extra = archive_of("extra.zip", {**own.files(), "boot.py": b"import os\n"})
    config = json.loads(own.files()["config.json"])
    config["mqtt"]["user"] = "other-probe"
    borrowed = archive_of("borrowed.zip", {"config.json": json.dumps(config).encode()})
    cases += [
        (["cr1", "--port", port, "--provisioning", extra], "fichiers inattendus"),
        (["cr1", "--port", port, "--provisioning", borrowed], "mqtt.user doit être"),
    ]
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    cases.append((["cr1", "--port", port, "--provisioning", str(tmp_path / "junk.zip")], "zip"))
    for args, said in cases:
        assert flash(*args) == 2, args
        assert said in capsys.readouterr().err, args
    assert board.calls() == []  # nothing reached the board
    monkeypatch.setenv("FAKE_MPY", "5")
    assert flash(*mine) == 2
    assert "charge les .mpy de format 5, pas 6" in capsys.readouterr().err
    assert [c[3] for c in board.calls()] == ["exec"]  # asked, nothing written


def test_without_a_file_it_asks_before_resetting_a_live_probe(
    board: FakeBoard,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_binary("mosquitto_passwd")
    data = tmp_path / "var"
    files = broker.write_config(data / "broker", 1883)
    broker.set_password(files, "van1", "the-live-password")
    for name, value in {
        "COLDCHAIN_DATA_DIR": str(data),
        "COLDCHAIN_MQTT__PUBLIC_HOST": "froid.local",
    }.items():
        monkeypatch.setenv(name, value)
    before = files.passwords.read_text()
    args = ["van1", "--port", str(board.port), "--wifi", "coop-depot", "--interval", "120"]

    asked: list[str] = []

    def refuse(prompt: str) -> str:
        asked.append(prompt)
        return "n"

    monkeypatch.setattr("builtins.input", refuse)
    assert flash(*args) == 2
    out = capsys.readouterr()
    assert "coupe du broker jusqu'à ce qu'elle soit reflashée" in out.out and asked
    assert files.passwords.read_text() == before and board.calls() == []

    monkeypatch.setattr("builtins.input", lambda _prompt: "oui")
    monkeypatch.setattr("getpass.getpass", lambda _prompt: "depot-wifi-pw")
    assert flash(*args) == 0
    assert files.passwords.read_text() != before  # a new hash for van1
    config = json.loads(board.files()["config.json"])
    password = config["mqtt"].pop("password")
    assert config == {
        "id": "van1",
        "transport": "mqtt",
        "wifi": [{"ssid": "coop-depot", "password": "depot-wifi-pw"}],
        "mqtt": {"host": "froid.local", "port": 8883, "tls": True, "user": "van1",
                 "ca_file": "ca.pem"},
        "interval_s": 120,
    }  # fmt: skip
    # The managed broker's certificate authority (coldchain/certificates.py), made on first use.
    assert board.files()["ca.pem"] == (data / "tls" / "ca.pem").read_bytes()
    assert board.files()["ca.pem"].startswith(b"-----BEGIN CERTIFICATE-----")
    # The password on the board is the broker's (Mosquitto 2's PBKDF2-SHA512 line for van1).
    line = next(x for x in files.passwords.read_text().splitlines() if x.startswith("van1:"))
    _, kind, rounds, salt, digest = line.split(":", 1)[1].split("$")
    assert kind == "7"
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), b64decode(salt), int(rounds), 64)
    assert derived == b64decode(digest)
    assert password not in capsys.readouterr().out


FAKE_BUS = {
    # The 1-Wire bus cannot exist here: fakes of MicroPython's ESP32 modules on the fake board.
    "machine.py": "class Pin:\n    def __init__(self, n):\n        assert n == 4, n\n",
    "onewire.py": "class OneWire:\n    def __init__(self, pin):\n        self.pin = pin\n",
    "ds18x20.py": (
        "class DS18X20:\n"
        "    def __init__(self, bus):\n        pass\n"
        "    def scan(self):\n"
        "        return [bytes.fromhex('28ff641e8316035a'), bytes.fromhex('28ff9a2c7116048e')]\n"
        "    def convert_temp(self):\n        pass\n"
        "    def read_temp(self, rom):\n        return 21.4375 if rom[1] == 0xFF else 0\n"
    ),
}


def test_scan_lists_the_rom_ids_to_give_to_flash(
    board: FakeBoard, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, source in FAKE_BUS.items():
        (board.fs / name).write_text(source)
    assert main(["probe", "scan", "--port", str(board.port)]) == 0
    out = capsys.readouterr().out
    assert "28ff641e8316035a 21.4375" in out and "28ff9a2c7116048e 21.4375" in out
    assert "roms 2" in out


def test_add_probe_asks_before_resetting_a_live_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`coldchain broker add-probe` on a probe that has a password: asked, or `--yes`."""
    require_binary("mosquitto_passwd")
    files = broker.write_config(tmp_path / "broker", 1883)
    monkeypatch.setenv("COLDCHAIN_DATA_DIR", str(tmp_path))
    assert main(["broker", "add-probe", "new-1"]) == 0  # a new probe: nothing to ask
    assert "password" in capsys.readouterr().out and broker.has_user(files, "new-1")
    before = files.passwords.read_text()
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert main(["broker", "add-probe", "new-1"]) == 1
    out = capsys.readouterr().out
    assert "coupe du broker jusqu'à ce qu'elle soit reflashée" in out
    assert "mot de passe inchangé" in out and files.passwords.read_text() == before

    def no_terminal(_prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    assert main(["broker", "add-probe", "new-1"]) == 1
    assert "--yes" in capsys.readouterr().out and files.passwords.read_text() == before
    assert main(["broker", "add-probe", "new-1", "--yes"]) == 0
    assert files.passwords.read_text() != before
    # A service's account is no probe: refused in French, nothing changed, no traceback.
    before = files.passwords.read_text()
    for action in ("add-probe", "remove-probe"):
        assert (
            main(
                ["broker", action, broker.GATEWAY_USER, "--yes"][
                    : 4 if action == "add-probe" else 3
                ]
            )
            == 2
        )
        assert "est le compte d'un service" in capsys.readouterr().err
    assert files.passwords.read_text() == before
