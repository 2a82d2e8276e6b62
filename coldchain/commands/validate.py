"""`coldchain validate`: check a payload file against the contract, as the gateway would."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from coldchain import protocol


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate", help="validate a probe message (readings, status, config, alarm) from a file"
    )
    parser.add_argument("file", type=Path, help="payload file, or - for standard input")
    parser.add_argument(
        "--kind",
        choices=[k.name.lower() for k in protocol.Kind],
        default="readings",
        help="message kind (default: readings)",
    )
    parser.add_argument("--topic", help="topic the message came on (checks the probe id)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if str(args.file) == "-":
        payload = sys.stdin.buffer.read(protocol.MAX_PAYLOAD_BYTES + 1)
    else:
        with args.file.open("rb") as fh:  # read no more than the limit + 1: size is checked
            payload = fh.read(protocol.MAX_PAYLOAD_BYTES + 1)
    now_ms = int(time.time() * 1000)
    kind = protocol.Kind[args.kind.upper()]
    result: object
    if kind is protocol.Kind.READINGS:
        result = protocol.parse_readings(payload, now_ms, args.topic)
    elif kind is protocol.Kind.STATUS:
        result = protocol.parse_status(payload, now_ms, args.topic)
    elif kind is protocol.Kind.CONFIG:
        result = protocol.parse_config(payload)
    else:
        result = protocol.parse_alarm(payload)
    if isinstance(result, protocol.Rejection):
        print(f"rejected: {result.reason.value}: {result.detail}")
        return 1
    if isinstance(result, protocol.ReadingsBatch):
        print(f"valid: {len(result.readings)} readings from probe {result.probe_id}")
    else:
        print(f"valid: {result}")
    return 0
