"""`coldchain broker`: per-probe credentials on the broker that `coldchain up` manages."""

from __future__ import annotations

import argparse
import sys

from coldchain import broker
from coldchain.protocol import PROBE_ID_RE
from coldchain.settings import Settings
from coldchain.startup import settings_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("broker", help="probe credentials on the managed broker")
    actions = parser.add_subparsers(dest="broker_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add-probe", help="create or reset a probe's password (printed once, for its config.json)"
    )
    add.add_argument("probe_id")
    add.set_defaults(handler=add_probe)
    remove = actions.add_parser("remove-probe", help="revoke a probe's access")
    remove.add_argument("probe_id")
    remove.set_defaults(handler=remove_probe)


def broker_files(settings: Settings) -> broker.BrokerFiles:
    return broker.BrokerFiles(settings.data_dir.resolve() / "broker")


def _files(args: argparse.Namespace) -> broker.BrokerFiles | None:
    settings = settings_or_exit(args.config)
    if not settings.mqtt.managed:
        print("coldchain: mqtt.managed is false: manage users on your own broker", file=sys.stderr)
        return None
    files = broker_files(settings)
    if not files.passwords.exists():
        print(f"coldchain: no managed broker in {files.directory}; run `coldchain up` once",
              file=sys.stderr)  # fmt: skip
        return None
    return files


def add_probe(args: argparse.Namespace) -> int:
    if not PROBE_ID_RE.fullmatch(args.probe_id):
        print("coldchain: a probe id is 1-32 characters: a-z, 0-9 and '-'", file=sys.stderr)
        return 2
    files = _files(args)
    if files is None:
        return 2
    password = broker.new_password()
    broker.set_password(files, args.probe_id, password)
    reloaded = broker.reload(files)
    print(f"probe {args.probe_id}: mqtt user {args.probe_id}, password {password}")
    if not reloaded:
        print("(the broker is not running: it takes the password at its next start)")
    return 0


def remove_probe(args: argparse.Namespace) -> int:
    files = _files(args)
    if files is None:
        return 2
    broker.remove_user(files, args.probe_id)
    broker.reload(files)
    print(f"probe {args.probe_id}: access revoked")
    return 0
