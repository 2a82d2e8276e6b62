"""Is the configured InfluxDB usable? Asked once at start (`coldchain up`, `gateway run`,
`server run`), so that a wrong URL, token, password or database name stops the start with
a sentence saying what is wrong, instead of a gateway retrying for ever with readings piling
up in its spool. The embedded SQLite store needs no check (its folder is created).

Each check returns the problem in French, or None when the store answers as configured.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3

from coldchain.settings import StoreSettings


def store_problem(store: StoreSettings) -> str | None:
    if store.kind == "influxdb1":
        return _influxdb1_problem(store)
    if store.kind == "influxdb2":
        return _influxdb2_problem(store)
    return None


def _secret(value: Any) -> str:
    return "" if value is None else str(value.get_secret_value())


def _get(
    store: StoreSettings, path: str, fields: dict[str, str], headers: dict[str, str]
) -> tuple[int, Any] | str:
    """(status, JSON body or None), or the problem when nothing answers."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=store.timeout_s), retries=False)
    url = store.url.rstrip("/") + path
    try:
        response = http.request("GET", url, fields=fields, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        return (
            f"InfluxDB injoignable à {store.url} ({reason}) : vérifiez store.url et que le "
            "service tourne / InfluxDB unreachable"
        )
    finally:
        http.clear()
    try:
        body = json.loads(response.data) if response.data else None
    except ValueError:
        body = None
    return response.status, body


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or "")
    return ""


def _influxdb1_problem(store: StoreSettings) -> str | None:
    """InfluxDB 1.x: the credentials, then the database (and the retention policy)."""
    fields = {"q": f'SHOW RETENTION POLICIES ON "{store.database}"'}
    if store.username:
        fields |= {"u": store.username, "p": _secret(store.password)}
    answer = _get(store, "/query", fields, {})
    if isinstance(answer, str):
        return answer
    status, body = answer
    if status == 401:
        return (
            f"InfluxDB ({store.url}) : utilisateur ou mot de passe refusé (store.username, "
            f"store.password) / user or password refused: {_message(body)}"
        )
    if status == 403:
        return (
            f"InfluxDB ({store.url}) : l'utilisateur {store.username!r} n'a pas le droit de lire "
            f"la base « {store.database} » / not allowed: {_message(body)}"
        )
    if status != 200 or not isinstance(body, dict):
        return f"InfluxDB ({store.url}) répond HTTP {status} à /query : {_message(body)}"
    result = (body.get("results") or [{}])[0]
    error = str(result.get("error") or "")
    if error.startswith("database not found"):
        if store.create_database:
            return None  # the sink creates it at its first write (CREATE DATABASE, idempotent)
        return (
            f"InfluxDB ({store.url}) : la base « {store.database} » n'existe pas (store.database) "
            "et store.create_database est false : créez-la (CREATE DATABASE) ou corrigez le "
            "nom / database missing"
        )
    if error:
        return f"InfluxDB ({store.url}) : {error}"
    if store.retention_policy:
        names = {row[0] for serie in result.get("series", []) for row in serie.get("values", [])}
        if store.retention_policy not in names:
            return (
                f"InfluxDB ({store.url}) : la politique de rétention « {store.retention_policy} »"
                f" n'existe pas dans la base « {store.database} » (store.retention_policy)"
            )
    return None


def _influxdb2_problem(store: StoreSettings) -> str | None:
    """InfluxDB 2.x / Cloud: the token, the organisation, the bucket (/api/v2/buckets).
    A server without that API (InfluxDB 3, VictoriaMetrics) is only checked as reachable
    (and its token refused, if it says 401/403)."""
    answer = _get(
        store,
        "/api/v2/buckets",
        {"org": store.org, "name": store.bucket},
        {"Authorization": f"Token {_secret(store.token)}"},
    )
    if isinstance(answer, str):
        return answer
    status, body = answer
    if status in (401, 403):
        refused = _message(body)
        return f"InfluxDB ({store.url}) : jeton refusé (store.token) / token refused: {refused}"
    bucket_missing = (
        f"InfluxDB ({store.url}) : le bucket « {store.bucket} » n'existe pas dans "
        f"l'organisation « {store.org} », ou le jeton ne peut pas le lire (store.bucket) / "
        "bucket missing"
    )
    if not isinstance(body, dict) or ("code" not in body and "buckets" not in body):
        # Not the InfluxDB 2 API answering (InfluxDB 3, VictoriaMetrics: no bucket API, the
        # database is made at the first write): nothing more to check here.
        return None
    if status == 404:
        if "organization" in _message(body).lower():
            return (
                f"InfluxDB ({store.url}) : l'organisation « {store.org} » n'existe pas "
                f"(store.org) / organisation not found: {_message(body)}"
            )
        return bucket_missing  # « bucket "x" not found »
    if status != 200:
        return f"InfluxDB ({store.url}) répond HTTP {status} à /api/v2/buckets : {_message(body)}"
    if not any(b.get("name") == store.bucket for b in body.get("buckets") or []):
        return bucket_missing  # filtered by name: an empty list
    return None
