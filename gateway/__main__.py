"""`python -m gateway [ACTION ...]` is `coldchain gateway [ACTION ...]`."""

import sys

from coldchain.cli import main

sys.exit(main(["gateway", *sys.argv[1:]]))
