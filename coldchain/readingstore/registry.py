"""Build the configured sink (writes) and reading store (reads) from `[store]` settings."""

from __future__ import annotations

from coldchain.readingstore.base import ReadingSink, ReadingStore
from coldchain.settings import StoreSettings


def _secret(value: object) -> str | None:
    get = getattr(value, "get_secret_value", None)
    return None if get is None else str(get())


def make_sink(store: StoreSettings) -> ReadingSink:
    if store.kind == "influxdb2":
        from coldchain.readingstore.influxdb import InfluxV2Sink

        return InfluxV2Sink(
            store.url, _secret(store.token) or "", store.org, store.bucket,
            database=store.database, timeout_s=store.timeout_s, gzip_body=store.gzip,
        )  # fmt: skip
    if store.kind == "influxdb1":
        from coldchain.readingstore.influxdb import InfluxV1Sink

        return InfluxV1Sink(
            store.url, store.database, retention_policy=store.retention_policy,
            username=store.username, password=_secret(store.password),
            timeout_s=store.timeout_s, gzip_body=store.gzip,
            create_database=store.create_database,
        )  # fmt: skip
    from coldchain.readingstore.sqlite import SqliteReadingStore

    return SqliteReadingStore(store.sqlite_path)


def make_reading_store(store: StoreSettings) -> ReadingStore:
    """InfluxQL over /query for both InfluxDB kinds (2.x/3.x: DBRP `store.database` + token)."""
    if store.kind in ("influxdb1", "influxdb2"):
        from coldchain.readingstore.influxdb import InfluxQLReadingStore

        return InfluxQLReadingStore(
            store.url, store.database, retention_policy=store.retention_policy,
            username=store.username, password=_secret(store.password),
            token=_secret(store.token) if store.kind == "influxdb2" else None,
            timeout_s=max(store.timeout_s, 30.0),
        )  # fmt: skip
    from coldchain.readingstore.sqlite import SqliteReadingStore

    return SqliteReadingStore(store.sqlite_path)
