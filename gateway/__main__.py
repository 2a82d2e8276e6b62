"""`python -m gateway [--config FILE] [-v] [ACTION ...]` is `coldchain ... gateway [ACTION ...]`."""

import sys

from coldchain.cli import main

args = sys.argv[1:]
global_options: list[str] = []
while args and args[0] in ("--config", "-v", "--verbose"):
    option = args.pop(0)
    global_options.append(option)
    if option == "--config" and args:
        global_options.append(args.pop(0))
sys.exit(main([*global_options, "gateway", *args]))
