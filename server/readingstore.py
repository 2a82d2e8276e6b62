"""Open the reading store the settings name (the gateway writes, the server reads)."""

from __future__ import annotations

from coldchain.settings import Settings
from gateway.readingstore import ReadingStore


def open_reading_store(settings: Settings) -> ReadingStore:
    store = settings.store
    if store.kind == "sqlite":
        from gateway.store_sqlite import SqliteReadingStore

        path = store.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteReadingStore(path)
    from gateway.store_influxdb import InfluxQLReadingStore

    secret = store.token or store.password
    return InfluxQLReadingStore(
        store.url,
        store.bucket if store.kind == "influxdb2" else store.database,
        retention_policy=store.retention_policy,
        username=store.username,
        password=store.password.get_secret_value() if store.password else None,
        token=store.token.get_secret_value() if store.token and secret else None,
        timeout_s=store.timeout_s,
    )
