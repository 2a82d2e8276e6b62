"""`coldchain records`: seal closed deliveries, verify the chains, export a record or an
inspection ZIP, purge what retention allows (docs/records.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from coldchain import clock
from coldchain.settings import Settings
from coldchain.startup import settings_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("records", help="sealed HACCP records, verification, exports")
    commands = parser.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    seal = commands.add_parser("seal", help="seal closed deliveries; reseal those with late data")
    seal.set_defaults(handler=run_seal)
    verify = commands.add_parser("verify", help="recompute the chains, name the first bad record")
    verify.add_argument("--cooperative", type=int, help="only this cooperative (id)")
    verify.add_argument(
        "--lang",
        choices=("fr", "nl", "en"),
        default="fr",
        help="the language of the reason a record does not match; default fr",
    )
    verify.set_defaults(handler=run_verify)
    export = commands.add_parser("export", help="one sealed record as PDF, CSV or JSON")
    export.add_argument("record_id", type=int)
    export.add_argument("-o", "--output", type=Path, required=True, help="file.pdf, .csv or .json")
    export.set_defaults(handler=run_export)
    inspect = commands.add_parser("inspection", help="the inspection ZIP of a period")
    inspect.add_argument("--cooperative", type=int, required=True, help="exported as its staff")
    inspect.add_argument(
        "--from",
        dest="start",
        type=date.fromisoformat,
        required=True,
        help="first day (YYYY-MM-DD, Brussels)",
    )
    inspect.add_argument(
        "--to", dest="end", type=date.fromisoformat, required=True, help="last day, included"
    )
    inspect.add_argument("--van", type=int, action="append", default=[], help="van id (repeat)")
    inspect.add_argument(
        "--cold-room", type=int, action="append", default=[], help="cold room id (repeat)"
    )
    inspect.add_argument("-o", "--output", type=Path, required=True)
    inspect.add_argument(
        "--lang",
        choices=("fr", "nl", "en"),
        default="fr",
        help="the documents' language (nl: for an FAVV inspector); default fr",
    )
    inspect.set_defaults(handler=run_inspection)
    due = commands.add_parser(
        "calibrations-due", help="list probe channels whose verification is overdue (exit 1)"
    )
    due.set_defaults(handler=run_calibrations_due)
    purge = commands.add_parser("purge", help="remove records older than records.retention_days")
    purge.add_argument("--dry-run", action="store_true", help="only say what would go")
    purge.set_defaults(handler=run_purge)


@contextmanager
def _database(settings: Settings) -> Iterator[Any]:
    """The database's session factory (migrated first if the settings say so); the engine
    is disposed of after."""
    from server.core.db import make_engine, make_sessionmaker, migrate
    from server.records import config

    config.configure(settings)  # what the documents print: the QR codes' address, retention
    engine = make_engine(settings.server.database_url)
    try:
        if settings.server.migrate_on_start:
            from coldchain.backups import backup_folder

            migrate(engine, backup_dir=backup_folder(settings))  # a copy first if it changes
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@contextmanager
def _database_and_store(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """The session factory and the reading store (closed after), for the commands that
    read readings."""
    from coldchain.readingstore.registry import make_reading_store

    with _database(settings) as factory:
        store = make_reading_store(settings.store)
        try:
            yield factory, store
        finally:
            store.close()


def run_seal(args: argparse.Namespace) -> int:
    from server.domain.categories import profiles
    from server.records.sealing import seal_pending

    settings = settings_or_exit(args.config)
    with _database_and_store(settings) as (factory, store):
        window = timedelta(days=settings.records.reseal_window_days)
        for record in seal_pending(factory, store, profiles(), clock.utcnow(), window):
            print(
                f"delivery {record.delivery_id} sealed: version {record.version}, "
                f"{record.record_hash}"
            )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from server.records.verify import cooperatives_with_records, reason_text, verify_chain

    settings = settings_or_exit(args.config)
    bad = 0
    with _database(settings) as factory, factory() as session:
        for cooperative_id in (
            [args.cooperative] if args.cooperative else cooperatives_with_records(session)
        ):
            report = verify_chain(session, cooperative_id)
            if report.ok:
                print(
                    f"cooperative {cooperative_id}: {report.checked} records OK, "
                    f"head {report.head_hash}"
                )
            else:
                bad += 1
                first = report.first_bad or {}
                why = reason_text(report.reason, args.lang) if report.reason else ""
                print(
                    f"cooperative {cooperative_id}: BROKEN at record {first.get('record_id')} "
                    f"(#{first.get('sequence')}, delivery {first.get('delivery_id')} "
                    f"v{first.get('version')}): {why}"
                )
    return 1 if bad else 0


def run_export(args: argparse.Namespace) -> int:
    from server.core.models.records import SealedRecord
    from server.records import formats, record_pdf

    settings = settings_or_exit(args.config)
    with _database(settings) as factory, factory() as session:
        record = session.get(SealedRecord, args.record_id)
        if record is None:
            print(f"no sealed record {args.record_id}", file=sys.stderr)
            return 1
        suffix = args.output.suffix.lower()
        if suffix == ".pdf":
            with args.output.open("wb") as out:
                record_pdf.render(
                    json.loads(record.document), record.record_hash, record.previous_hash, out
                )
        elif suffix == ".json":
            args.output.write_text(formats.record_json(record), encoding="utf-8")
        elif suffix == ".csv":
            with args.output.open("w", encoding="utf-8", newline="") as text:
                text.writelines(formats.readings_csv(json.loads(record.document)))
        else:
            print("output must end in .pdf, .csv or .json", file=sys.stderr)
            return 2
    print(f"written {args.output}")
    return 0


def run_inspection(args: argparse.Namespace) -> int:
    from server.core.access import Viewer
    from server.core.errors import ApiError, message
    from server.core.models import Role
    from server.domain.categories import profiles
    from server.records import inspection

    settings = settings_or_exit(args.config)
    start = clock.day_start(args.start)
    end = clock.day_start(args.end + timedelta(days=1))
    wanted = inspection.InspectionRequest(
        start, end, tuple(args.van), tuple(args.cold_room), lang=args.lang
    )
    # The command runs as the cooperative's hygiene officer: the same tenancy rules apply.
    viewer = Viewer(0, False, {args.cooperative: frozenset({Role.HYGIENE_OFFICER})})

    def progress(label: str, total: int) -> None:
        print(f"\r{total:>10} mesures — {label[:50]:<50}", end="", file=sys.stderr, flush=True)

    try:
        with _database_and_store(settings) as (factory, store), factory() as session:
            places = inspection.locations(
                session, viewer, wanted, profiles(), settings.records.max_export_days
            )
            with args.output.open("wb") as out:
                hashes = inspection.export(
                    session, store, viewer, wanted, places, profiles(), out, progress
                )
    except ApiError as exc:
        print(f"refused: {message(exc.code, 'fr', exc.params)}", file=sys.stderr)
        return 2
    print(f"\n{args.output}: {len(hashes) + 1} files", file=sys.stderr)
    return 0


def run_purge(args: argparse.Namespace) -> int:
    from server.records.retention import purge

    settings = settings_or_exit(args.config)
    with _database(settings) as factory:
        results = purge(factory, settings.records.retention_days, clock.utcnow(), args.dry_run)
    for result in results:
        verb = "would remove" if args.dry_run else "removed"
        note = f" (refused: {result.refused})" if result.refused else ""
        print(f"cooperative {result.cooperative_id}: {verb} {len(result.removed)} records{note}")
    return 1 if any(r.refused for r in results) else 0


def run_calibrations_due(args: argparse.Namespace) -> int:
    """Overdue verifications (exit 1 when any). The alert worker also raises a
    `calibration_overdue` alert for each (server/alerting/maintenance.py)."""
    from sqlalchemy import select

    from server.core.models import Calibration, Probe
    from server.records.registers import calibration_rows, overdue

    settings = settings_or_exit(args.config)
    with _database(settings) as factory, factory() as session:
        pairs = session.execute(
            select(Calibration, Probe).join(Probe, Probe.id == Calibration.probe_id)
        ).all()
        rows = calibration_rows([(c, p) for c, p in pairs], clock.today())
    late = overdue(rows)
    for row in late:
        probe, channel, checked, state = row[0], row[1], row[2], row[-1]
        print(f"{probe} {channel}: vérifiée le {checked}, {state}")
    return 1 if late else 0
