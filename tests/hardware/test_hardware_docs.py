"""The hardware guide, its drawing and the firmware agree on the ESP32 pin map.

A volunteer builds the probe from hardware/wiring.md and hardware/wiring.svg; the firmware drives
the pins named in firmware/esp32/board_esp32.py. If the two disagree, a probe built from the guide
silently misses a sensor, so each mismatch fails here, naming the signal and both pin numbers.
Pure file reading: no ESP32 is needed (the firmware module is parsed, not imported, because it
imports MicroPython's `machine`).
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARDWARE = REPO / "hardware"
BOARD_MODULE = REPO / "firmware" / "esp32" / "board_esp32.py"

# Pin map v1 (issue 3): the one both the guide and the firmware were written against.
PIN_MAP = {
    "onewire": 4,
    "i2c_sda": 21,
    "i2c_scl": 22,
    "door": 27,
    "buzzer": 25,
    "led": 26,
    "button": 33,
    "supply_sense": 35,
}

# First words of a row of the wiring.md pin table -> signal.
ROW_SIGNALS = {
    "1-Wire": "onewire",
    "I2C SDA": "i2c_sda",
    "I2C SCL": "i2c_scl",
    "Door": "door",
    "Buzzer": "buzzer",
    "Alarm": "led",
    "Silence": "button",
    "Supply": "supply_sense",
}


def wiring_table() -> dict[str, int]:
    """Signal -> GPIO from the table between the pin-map markers of hardware/wiring.md."""
    text = (HARDWARE / "wiring.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- pin-map:begin.*?-->(.*?)<!-- pin-map:end -->", text, re.S)
    assert match, "hardware/wiring.md has lost its <!-- pin-map:begin/end --> markers"
    pins: dict[str, int] = {}
    for line in match.group(1).strip().splitlines()[2:]:  # skip header and |---| rows
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        signal = next((s for p, s in ROW_SIGNALS.items() if cells[0].startswith(p)), None)
        assert signal, f"wiring.md pin table: unknown row {cells[0]!r}"
        assert signal not in pins, f"wiring.md pin table: {signal} listed twice"
        gpio = re.fullmatch(r"GPIO(\d+)", cells[1])
        assert gpio, f"wiring.md pin table: {signal} has {cells[1]!r}, expected GPIOn"
        pins[signal] = int(gpio.group(1))
    return pins


# Signal -> constant name in firmware/esp32/board_esp32.py.
BOARD_CONSTANTS = {
    "onewire": "PIN_ONEWIRE",
    "i2c_sda": "PIN_SDA",
    "i2c_scl": "PIN_SCL",
    "door": "PIN_DOOR",
    "buzzer": "PIN_BUZZER",
    "led": "PIN_LED",
    "button": "PIN_BUTTON",
    "supply_sense": "PIN_SUPPLY",
}


def board_constants() -> dict[str, int]:
    """Module-level integer constants of firmware/esp32/board_esp32.py (`X = 4`, `X = const(4)`)."""
    tree = ast.parse(BOARD_MODULE.read_text(encoding="utf-8"), str(BOARD_MODULE))
    constants: dict[str, int] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "const":
            value = value.args[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, int):
            constants[target.id] = value.value
    return constants


def board_pins() -> dict[str, int]:
    """Signal -> GPIO from the PIN_* constants of the firmware's board module."""
    constants = board_constants()
    return {s: constants[name] for s, name in BOARD_CONSTANTS.items() if name in constants}


def supply_divider_ratio() -> float:
    """(R5 + R6) / R6 from the supply-sense row of the wiring.md pin table."""
    text = (HARDWARE / "wiring.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| Supply voltage sense"))
    r5 = re.search(r"R5 (\d+(?:\.\d+)?) kΩ", row)
    r6 = re.search(r"R6 (\d+(?:\.\d+)?) kΩ", row)
    assert r5 and r6, f"wiring.md supply row names no R5/R6 values: {row}"
    return (float(r5.group(1)) + float(r6.group(1))) / float(r6.group(1))


def test_wiring_table_is_the_pin_map() -> None:
    assert wiring_table() == PIN_MAP


def test_firmware_board_uses_the_pins_of_the_wiring_guide() -> None:
    if not BOARD_MODULE.exists():
        pytest.fail(f"{BOARD_MODULE.relative_to(REPO)} is missing: cannot check its pins")
    doc, firmware = wiring_table(), board_pins()
    missing = sorted(set(BOARD_CONSTANTS) - set(firmware))
    assert not missing, f"board_esp32.py defines no pin constant for {missing}"
    disagree = {s: (doc[s], firmware[s]) for s in doc if doc[s] != firmware[s]}
    assert not disagree, f"signal: (wiring.md GPIO, board_esp32.py GPIO) differ: {disagree}"


def test_firmware_divider_ratio_and_display_address_match_the_guide() -> None:
    if not BOARD_MODULE.exists():
        pytest.fail(f"{BOARD_MODULE.relative_to(REPO)} is missing: cannot check it")
    constants = board_constants()
    assert constants.get("SUPPLY_RATIO") == supply_divider_ratio(), "supply divider ratio"
    assert constants.get("SSD1306_ADDR") == 0x3C, "wiring.md gives the display at 0x3C"


def test_drawing_is_valid_svg_labelling_exactly_the_mapped_gpios() -> None:
    root = ET.parse(HARDWARE / "wiring.svg").getroot()  # also proves it is well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    labelled = {int(n) for t in texts for n in re.findall(r"GPIO(\d+)", t)}
    assert labelled == set(PIN_MAP.values())
    # Each signal's own caption names its pin (e.g. "BUZZER ← GPIO25").
    captions = {
        "onewire": "DS18B20 → GPIO",
        "door": "DOOR → GPIO",
        "buzzer": "BUZZER ← GPIO",
        "led": "ALARM LED ← GPIO",
        "button": "SW1 silence button ← GPIO",
        "supply_sense": "SUPPLY SENSE → GPIO",
    }
    for signal, prefix in captions.items():
        found = [t for t in texts if t.startswith(prefix)]
        assert found, f"wiring.svg has no caption starting {prefix!r}"
        assert re.match(re.escape(prefix) + rf"{PIN_MAP[signal]}\b", found[0]), found[0]


def test_guides_refer_only_to_mapped_pins() -> None:
    """Every `GPIOn` and `Pin(n` in the guides (REPL snippets included) is a mapped pin."""
    allowed = set(PIN_MAP.values())
    for page in sorted(HARDWARE.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        pairs = re.findall(r"\bGPIO(\d+)|\bPin\((\d+)", text)  # one group matches per hit
        used = {int(gpio or pin) for gpio, pin in pairs}
        assert used <= allowed, f"{page.name} refers to unmapped pins {sorted(used - allowed)}"


def test_guide_pages_link_to_existing_pages() -> None:
    for page in sorted(HARDWARE.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
