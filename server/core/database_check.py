"""Is the configured PostgreSQL usable? Asked once at start (`coldchain up`, `server run`),
so that a wrong host, password or database name stops the start with a sentence saying what
is wrong. SQLite needs no check (its folder is created with the file).

The answer is the problem in French, or None when the database accepts the connection.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from server.core.db import make_engine

# A refused connection carries no SQLSTATE in psycopg (libpq gives only the server's text),
# so the server's FATAL line is read: English, and French for a server with lc_messages=fr.
WRONG_PASSWORD = ("password authentication failed", "authentification par mot de passe")
NO_DATABASE = ("does not exist", "n'existe pas")
NO_ACCESS = ("no pg_hba.conf entry", "aucune entrée dans pg_hba.conf")


def database_problem(database_url: str, timeout_s: int = 5) -> str | None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    # The server's own URL and driver (make_engine), with a bounded wait for a silent host.
    server_engine = make_engine(database_url)
    driver_url = server_engine.url
    server_engine.dispose()
    probe = create_engine(driver_url, connect_args={"connect_timeout": timeout_s})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        detail = " ".join(str(exc.orig if exc.orig is not None else exc).split())
        fatal = detail.partition("FATAL:")[2].strip()
        if any(word in fatal for word in WRONG_PASSWORD):
            return (
                f"PostgreSQL ({where}) : mot de passe refusé pour l'utilisateur « {url.username} »"
                f" (server.database_url) / password refused: {fatal}"
            )
        if any(word in fatal for word in NO_DATABASE) and f'"{url.database}"' in fatal:
            return (
                f"PostgreSQL ({where}) : la base « {url.database} » n'existe pas "
                f"(server.database_url ; createdb {url.database}) / database missing: {fatal}"
            )
        if fatal and (any(word in fatal for word in NO_ACCESS + NO_DATABASE)):
            return (
                f"PostgreSQL ({where}) : l'utilisateur « {url.username} » est inconnu ou n'a pas "
                f"accès (server.database_url, pg_hba.conf) / access refused: {fatal}"
            )
        if fatal:
            return f"PostgreSQL ({where}) refuse la connexion / refused: {fatal}"
        return (
            f"PostgreSQL injoignable à {where} : vérifiez server.database_url et que le "
            f"service tourne / unreachable: {detail}"
        )
    finally:
        probe.dispose()
    return None
