"""The ESP32 board module, which cannot run here: pin map and driver fault handling on the unix
port with fakes standing in for the pins and buses (machine, onewire), and every firmware module
compiled by MicroPython's own compiler."""

from __future__ import annotations

import json

from tests.conftest import FIRMWARE
from tests.firmware.conftest import FW_TESTS
from tests.harness.servers import MicroPython


def test_pin_map_sensor_faults_and_outputs(micropython: MicroPython) -> None:
    done = micropython.run(FW_TESTS / "esp32_fakes.py", module_path=[FIRMWARE])
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    out_mode, in_mode, pull_up = 1, 0, 2
    # The pin map shared with hardware/: outputs, pulled-up inputs, buses, ADC.
    assert out["pins"]["25"] == [out_mode, None]  # buzzer
    assert out["pins"]["26"] == [out_mode, None]  # LED
    assert out["pins"]["27"] == [in_mode, pull_up]  # door reed switch
    assert out["pins"]["33"] == [in_mode, pull_up]  # silence button
    assert "4" in out["pins"]  # 1-Wire
    assert out["i2c"] == [0, 21, 22, 400000]
    assert out["adc"] == 35
    reads = dict((name, values) for name, values in out["reads"])  # noqa: C402
    assert reads["ok"][:2] == [["air", 3.5, None], ["product", -20.75, None]]
    assert reads["ok"][3] == ["battery", 12.397, None]  # 1.127 V x 11
    assert reads["power-on"][0] == ["air", 85.0, "power_on_value"]
    assert reads["gone"][0] == ["air", None, "disconnected"]
    assert reads["crc"][0] == ["air", None, "crc_error"]
    assert reads["no-bus"][:2] == [["air", None, "disconnected"], ["product", None, "disconnected"]]
    assert reads["sht-crc"] == ["humidity", None, "crc_error"]
    assert reads["sht-nack"] == ["humidity", None, "i2c_nack"]
    assert abs(reads["ok"][2][1] - 56.5) < 0.01  # SHT4x 0x8000 -> 56.5 %RH
    assert out["door_open"] == 1
    assert out["button"] == [True, False]  # one press, one event
    assert out["wdt"] == 30000


def test_every_firmware_module_compiles_on_micropython(micropython: MicroPython) -> None:
    modules = sorted(p.name for p in FIRMWARE.glob("*.py"))
    assert {"board_esp32.py", "main.py", "mqtt.py", "fsqueue.py"} <= set(modules)
    script = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        f"    with open({str(FIRMWARE)!r} + '/' + name) as f:\n"
        "        compile(f.read(), name, 'exec')\n"
        "print('ok', len(sys.argv))\n"
    )
    done = micropython.run(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")
