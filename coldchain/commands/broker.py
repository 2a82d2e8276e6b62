"""`coldchain broker`: per-probe credentials on the broker that `coldchain up` manages."""

from __future__ import annotations

import argparse
import sys

from coldchain import broker, provisioning
from coldchain.protocol import PROBE_ID_RE
from coldchain.startup import settings_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("broker", help="probe credentials on the managed broker")
    actions = parser.add_subparsers(dest="broker_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add-probe", help="create or reset a probe's password (printed once, for its config.json)"
    )
    add.add_argument("probe_id")
    add.add_argument(
        "--yes", action="store_true", help="reset a probe that already has a password, unasked"
    )
    add.set_defaults(handler=add_probe)
    remove = actions.add_parser("remove-probe", help="revoke a probe's access")
    remove.add_argument("probe_id")
    remove.set_defaults(handler=remove_probe)


broker_files = broker.files_of  # the name `coldchain up` and the demo import


def confirm_reset(probe_id: str, yes: bool) -> bool:
    """Ask before resetting a probe that already has a password: it is cut off until it
    is reflashed with the new one. `--yes` answers for the operator; no terminal: no."""
    if yes:
        return True
    print(
        f"La sonde {probe_id} a déjà un mot de passe : le réinitialiser la coupe du broker "
        "jusqu'à ce qu'elle soit reflashée avec le nouveau. / "
        f"Probe {probe_id} already has a password: resetting it cuts it off until reflashed."
    )
    try:
        answer = input("Réinitialiser ? / Reset? [o/N] ")
    except EOFError:
        print("\ncoldchain: pas de réponse (--yes pour ne pas demander) / no answer (--yes)")
        return False
    return answer.strip().lower() in ("o", "oui", "y", "yes")


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
    settings = settings_or_exit(args.config)
    if provisioning.has_account(settings, args.probe_id) and not confirm_reset(
        args.probe_id, args.yes
    ):
        print(f"probe {args.probe_id}: password unchanged / mot de passe inchangé")
        return 1
    try:
        account = provisioning.set_account(settings, args.probe_id)
    except ValueError as refused:  # a service account's name (coldchain/broker.py)
        print(f"coldchain: {refused}", file=sys.stderr)
        return 2
    print(f"probe {args.probe_id}: mqtt user {args.probe_id}, password {account.password}")
    if not account.reloaded:
        print("(the broker is not running: it takes the password at its next start)")
    return 0


def remove_probe(args: argparse.Namespace) -> int:
    files = _files(args)
    if files is None:
        return 2
    try:
        broker.remove_user(files, args.probe_id)
    except ValueError as refused:  # a service account's name (coldchain/broker.py)
        print(f"coldchain: {refused}", file=sys.stderr)
        return 2
    broker.reload(files)
    print(f"probe {args.probe_id}: access revoked")
    return 0
