"""`coldchain`: one console command, one subcommand per job.

Each subcommand lives in its own module exposing `register(subparsers)`; the module
list below is the only place that knows them all.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from coldchain import __version__
from coldchain.startup import ConfigurationRefused

SUBCOMMAND_MODULES = (
    "coldchain.commands.backup",
    "coldchain.commands.broker",
    "coldchain.commands.config",
    "coldchain.commands.demo",
    "coldchain.commands.probe",
    "coldchain.commands.install",
    "coldchain.commands.status",
    "coldchain.commands.up",
    "coldchain.commands.validate",
    "gateway.cli",
    "server.cli",
    "server.alerting.cli",
    "server.records.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coldchain",
        description="Cold-chain telemetry for food cooperatives (probes, gateway, server).",
    )
    parser.add_argument("--version", action="version", version=f"coldchain {__version__}")
    parser.add_argument(
        "--config", type=Path, help="TOML configuration file (default: $COLDCHAIN_CONFIG)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        result: int = args.handler(args)
    except (FileNotFoundError, ConfigurationRefused) as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
