"""`coldchain server`: run the API (uvicorn), migrate the database, create the first admin."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy.exc import IntegrityError

from coldchain.startup import refuse_unusable, settings_for_start, settings_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("server", help="the FastAPI server (registry, deliveries)")
    commands = parser.add_subparsers(dest="server_command", required=True, metavar="ACTION")

    run_parser = commands.add_parser("run", help="serve the API with uvicorn")
    run_parser.add_argument("--host", help="listen address (default: server.host)")
    run_parser.add_argument("--port", type=int, help="listen port (default: server.port)")
    run_parser.add_argument("--workers", type=int, default=1, help="worker processes")
    run_parser.set_defaults(handler=run)

    migrate_parser = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate_parser.set_defaults(handler=migrate)

    admin = commands.add_parser(
        "create-admin", help="create a superuser (creates organisations and their admins)"
    )
    admin.add_argument("email")
    admin.add_argument("--name", default="Administrateur", help="full name")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin.set_defaults(handler=create_admin)


def migrate(args: argparse.Namespace) -> int:
    from coldchain.backups import backup_folder
    from server.core.db import make_engine
    from server.core.db import migrate as upgrade

    settings = settings_or_exit(args.config)
    engine = make_engine(settings.server.database_url)
    upgrade(engine, backup_dir=backup_folder(settings))
    engine.dispose()
    print("database schema up to date")
    return 0


def create_admin(args: argparse.Namespace) -> int:
    from server.core.db import make_engine, make_sessionmaker
    from server.core.db import migrate as upgrade
    from server.core.security import password_hasher
    from server.domain.accounts import create_superuser

    settings = settings_or_exit(args.config)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mot de passe / password: ")
    engine = make_engine(settings.server.database_url)
    upgrade(engine)
    try:
        with make_sessionmaker(engine)() as session:
            user = create_superuser(
                session, password_hasher(settings.server), args.email, args.name, password
            )
    except ValueError as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 2
    except IntegrityError:
        print(f"coldchain: {args.email} already exists", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"superuser {user.email} created (id {user.id})")
    return 0


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from coldchain.readingstore.check import store_problem
    from server.core.database_check import database_problem

    settings = settings_for_start(args.config)  # the secret key made at first start
    refuse_unusable(database_problem(settings.server.database_url), store_problem(settings.store))
    if args.config is not None:  # the worker processes load the same file
        os.environ["COLDCHAIN_CONFIG"] = str(args.config)
    if args.workers > 1 or settings.server.migrate_on_start:
        # One migration before the workers start, not one race per worker; and a refused
        # one (a database newer than this code) ends here with its message, not a traceback.
        migrate(args)
        os.environ["COLDCHAIN_SERVER__MIGRATE_ON_START"] = "false"
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host or settings.server.host,
        port=args.port or settings.server.port,
        workers=args.workers,
        # X-Forwarded-For is believed from `server.forwarded_allow_ips` only, by the app
        # itself (server/app.py); uvicorn's own default would trust 127.0.0.1.
        proxy_headers=False,
        log_level="info",
    )
    return 0
