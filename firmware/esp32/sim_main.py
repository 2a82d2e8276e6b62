# Simulator entry point on the MicroPython unix port:
#   micropython sim_main.py <config.json> <scenario.json> <data_dir>
# (MICROPYPATH must include firmware/esp32; docs/firmware.md, "Simulator").
import asyncio
import gc
import json
import sys

from board_sim import SimBoard
from probe import Probe


async def heap_watch(every_ms):
    # The scenario's "heap_watch_ms": every that many ms, collect and print the free heap
    # each time it reaches a new low (tests/firmware/test_heap.py: "EV heap <bytes>").
    low = None
    while True:
        gc.collect()
        free = gc.mem_free()
        if low is None or free < low:
            low = free
            print("EV heap", free)
        await asyncio.sleep_ms(every_ms)


async def run(probe, watch_ms):
    if watch_ms:
        asyncio.create_task(heap_watch(watch_ms))
    await probe.run()


def main(argv):
    cfg_path, scenario_path, data_dir = argv[1], argv[2], argv[3]
    with open(cfg_path) as f:
        cfg = json.load(f)
    board = SimBoard(scenario_path, data_dir, cfg)
    asyncio.run(run(Probe(board, cfg, data_dir), board.sc.get("heap_watch_ms")))


main(sys.argv)
