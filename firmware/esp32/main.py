# ESP32 entry point (runs at boot after boot.py). config.json: docs/firmware.md, "Config file".
import asyncio
import json

import board_esp32
from probe import Probe

with open("config.json") as f:
    cfg = json.load(f)
asyncio.run(Probe(board_esp32.Board(cfg), cfg, "/data").run())
