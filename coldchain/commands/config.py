"""`coldchain config`: print the effective settings, secrets masked."""

from __future__ import annotations

import argparse
import json

from coldchain.startup import settings_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config", help="show the effective configuration (secrets masked) and check it"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args.config)
    print(json.dumps(settings.model_dump(mode="json"), indent=2))
    return 0
