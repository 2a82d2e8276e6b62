"""The firmware fits an ESP32's heap: compiled to .mpy (coldchain/firmware_build.py, the files
`coldchain probe flash` writes), run on the real MicroPython unix port with a 96 KB heap (a
plain ESP32 without PSRAM gives MicroPython about 100 to 110 KB) through a broker outage and
the upload of its backlog, against a real Mosquitto with the probe ACL.

The .mpy files built for the ESP32 (-march=xtensawin) hold only bytecode, no native code, so
mpy-cross marks them with no architecture: they are byte for byte the host build, which is
checked here, and the unix port runs the very files that go on the board. Only the board is
simulated (board_sim.py, compiled too; sim_main.py stays source as main.py does on the chip).
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

from coldchain import firmware_build
from tests.conftest import FIRMWARE
from tests.firmware.conftest import Collector, SimProbe, probe_config, scenario
from tests.harness.servers import MicroPython, Mosquitto

HEAP = "96k"
MARGIN = 8 * 1024  # the lowest free heap after a collection must stay above this
HEAP_LINE = re.compile(r"EV heap (\d+)$")


class CompiledProbe(SimProbe):
    """The simulated probe run from the compiled firmware, with the ESP32's heap."""

    build: Path

    def start(self) -> None:
        script = self.build / "sim_main.py"
        files = (self.cfg_path, self.scenario_path, self.data)
        self.proc = subprocess.Popen(
            [self.mp.binary, "-X", f"heapsize={HEAP}", str(script), *map(str, files)],
            cwd=self.workdir,
            env=self.mp.environment([self.build], None),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()


def test_compiled_firmware_fits_96k_through_an_outage_and_its_backlog(
    micropython: MicroPython,
    mosquitto_acl: Mosquitto,
    server: Collector,
    tmp_path: Path,
) -> None:
    board = firmware_build.build(tmp_path / "esp32")  # what `coldchain probe flash` copies
    host = firmware_build.build(tmp_path / "host", arch=None, simulator=True)
    for built in board:
        assert built.read_bytes() == (tmp_path / "host" / built.name).read_bytes(), built.name
    assert {p.name for p in host} - {p.name for p in board} == {"board_sim.mpy", "sim_main.py"}
    assert all(p.suffix == ".mpy" for p in board if p.name != "main.py")
    # Why compiled: as source, importing the firmware alone exhausts the same heap.
    imports = "import probe, mqtt, board_sim; print('imported')"
    source = [micropython.binary, "-X", f"heapsize={HEAP}", "-c", imports]
    env = micropython.environment([FIRMWARE], None)
    as_source = subprocess.run(source, env=env, capture_output=True, text=True, timeout=30)
    said = as_source.stdout + as_source.stderr  # the unix port prints tracebacks on stdout
    assert "MemoryError" in said and "imported" not in said
    compiled = subprocess.run(
        source, env=micropython.environment([tmp_path / "host"], None),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert compiled.stdout.strip() == "imported", compiled.stderr

    # 20 readings a batch, two channels every 10 scenario seconds; status every minute.
    cfg = probe_config(mosquitto_acl, live_threshold=100000, status_s=60)
    probe = CompiledProbe(micropython, tmp_path / "probe", cfg, scenario(heap_watch_ms=50))
    probe.build = tmp_path / "host"
    try:
        probe.start()
        server.wait_for(lambda: len(server.readings()) >= 6)
        mosquitto_acl.stop()
        time.sleep(5)  # 5 scenario minutes at 60x: 60 readings wait in flash
        probe.assert_alive()
        mosquitto_acl.start()
        server.wait_for(lambda: len(server.readings()) >= 90, timeout=30)
        probe.assert_alive()
    finally:
        probe.stop()
        print("--- compiled probe: last lines ---", *probe.lines[-40:], sep="\n")
    out = "\n".join(probe.lines)
    assert "MemoryError" not in out, out[-3000:]
    assert sum(line.startswith("LOG boot") for line in probe.lines) == 1  # no restart
    assert any("mqtt link down" in line for line in probe.lines)  # the outage was seen
    seqs = list(dict.fromkeys(r["s"] for r in server.readings()))
    assert seqs == list(range(1, len(seqs) + 1))  # the backlog arrived whole, in order
    lows = [int(m.group(1)) for line in probe.lines if (m := HEAP_LINE.match(line))]
    assert lows, out[-3000:]
    lowest = min(lows)
    print(f"lowest free heap after collection, {HEAP} heap, .mpy: {lowest} bytes")
    assert lowest >= MARGIN, f"only {lowest} bytes free at the lowest"
