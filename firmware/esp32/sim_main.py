# Simulator entry point on the MicroPython unix port:
#   micropython sim_main.py <config.json> <scenario.json> <data_dir>
# (MICROPYPATH must include firmware/esp32; docs/firmware.md, "Simulator").
import asyncio
import json
import sys

from board_sim import SimBoard
from probe import Probe


def main(argv):
    cfg_path, scenario_path, data_dir = argv[1], argv[2], argv[3]
    with open(cfg_path) as f:
        cfg = json.load(f)
    board = SimBoard(scenario_path, data_dir, cfg)
    asyncio.run(Probe(board, cfg, data_dir).run())


main(sys.argv)
