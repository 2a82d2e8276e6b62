"""`coldchain gateway`: run the gateway, list the quarantine, show the spool and probe status.

Configuration from `--config`, $COLDCHAIN_CONFIG and the COLDCHAIN_* environment, see
docs/configuration.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC, datetime

from coldchain import clock
from coldchain.readingstore.check import store_problem
from coldchain.startup import refuse_unusable, settings_or_exit
from gateway.spool import Spool


class JsonFormatter(logging.Formatter):
    """One JSON object per line: for journald / Loki / any log shipper."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gateway", help="MQTT and USB-serial probes into the reading store"
    )
    parser.set_defaults(handler=run, log_format="text")
    actions = parser.add_subparsers(dest="gateway_command", metavar="ACTION")
    run_parser = actions.add_parser("run", help="run the gateway (the default)")
    run_parser.add_argument("--log-format", choices=["text", "json"], default="text")
    run_parser.set_defaults(handler=run)
    quarantine = actions.add_parser(
        "quarantine", help="list rejected messages kept for inspection, or replay them"
    )
    quarantine.add_argument(
        "action", nargs="?", choices=("list", "replay"), default="list",
        help="list (the default), or replay: validate again and store what now passes",
    )  # fmt: skip
    quarantine.add_argument(
        "--id", type=int, action="append", default=[], dest="ids", metavar="N",
        help="replay: only this item (repeatable)",
    )  # fmt: skip
    quarantine.add_argument(
        "--dry-run", action="store_true", help="replay: say what would be stored, store nothing"
    )
    quarantine.add_argument("--reason", help="only this rejection reason")
    quarantine.add_argument("--limit", type=int, default=50, help="newest first (default 50)")
    quarantine.add_argument("--json", action="store_true", help="JSON lines, payload included")
    quarantine.add_argument(
        "--purge-older-than-days", type=float, metavar="DAYS",
        help="delete items received more than DAYS ago (once inspected) instead of listing",
    )  # fmt: skip
    quarantine.set_defaults(handler=list_quarantine)
    status = actions.add_parser("status", help="spool depth, rejects by reason, probe status")
    status.set_defaults(handler=show_status)


def run(args: argparse.Namespace) -> int:
    from gateway.app import Gateway

    settings = settings_or_exit(args.config)  # also the demo's accelerated clock
    refuse_unusable(store_problem(settings.store))  # a wrong InfluxDB stops here, said why
    if args.log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    return Gateway(settings).run()


def _open_spool(args: argparse.Namespace) -> Spool | None:
    settings = settings_or_exit(getattr(args, "config", None))
    if not settings.gateway.spool_path.exists():
        print(f"coldchain: no spool at {settings.gateway.spool_path}", file=sys.stderr)
        return None
    return Spool(settings.gateway.spool_path, fsync=False)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def list_quarantine(args: argparse.Namespace) -> int:
    spool = _open_spool(args)
    if spool is None:
        return 2
    if args.action == "replay":
        return replay_quarantine(args, spool)
    if args.purge_older_than_days is not None:
        cutoff = time.time() - args.purge_older_than_days * 86400
        print(f"deleted {spool.purge_quarantine(int(cutoff * 1000))} quarantined items")
        spool.close()
        return 0
    for item in spool.quarantine(args.limit, args.reason):
        if args.json:
            print(json.dumps({
                "id": item.id, "received": _when(item.received_ms), "source": item.source,
                "topic": item.topic, "reason": item.reason, "detail": item.detail,
                "payload": item.payload.decode("utf-8", "backslashreplace"),
            }, ensure_ascii=False))  # fmt: skip
        else:
            preview = item.payload[:80].decode("utf-8", "backslashreplace")
            print(f"#{item.id} {_when(item.received_ms)} {item.source} {item.topic or '-'} "
                  f"{item.reason}: {item.detail} | {preview!r}")  # fmt: skip
    spool.close()
    return 0


def replay_quarantine(args: argparse.Namespace, spool: Spool) -> int:
    """Validate quarantined items again (gateway/quarantine.py); what passes is spooled for
    the sink, and the running gateway's drainer (or the next start) stores it."""
    from gateway.quarantine import replay

    done = replay(spool, clock.now_ms, reason=args.reason, ids=args.ids, dry_run=args.dry_run)
    spool.close()
    verb = "would store" if args.dry_run else "stored"
    print(
        f"replay: {verb} {done.messages} messages ({done.readings} readings, "
        f"{done.new_readings if not args.dry_run else '-'} new) and {done.statuses} statuses"
    )
    if done.kept:
        print("still quarantined by reason:", json.dumps(dict(sorted(done.kept.items()))))
    return 0


def show_status(args: argparse.Namespace) -> int:
    spool = _open_spool(args)
    if spool is None:
        return 2
    oldest = spool.oldest_arrival_ms()
    age = "" if oldest is None else f" (oldest arrived {time.time() - oldest / 1000:.0f} s ago)"
    print(f"spool: {spool.depth()} readings waiting{age}")
    print("quarantine by reason:", json.dumps(spool.quarantine_counts()))
    for probe, status in spool.statuses().items():
        print(f"{probe}: {json.dumps(status)}")
    spool.close()
    return 0
