"""`coldchain config`: print the effective settings, secrets masked."""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from coldchain.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config", help="show the effective configuration (secrets masked) and check it"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ValidationError as exc:
        print(f"coldchain: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    print(json.dumps(settings.model_dump(mode="json"), indent=2))
    return 0
