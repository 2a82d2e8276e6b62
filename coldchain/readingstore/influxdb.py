"""InfluxDB: the two write paths (sinks) and the InfluxQL reading store.

Schema (docs/storage.md): measurement `reading`, tags `probe` and `channel`, fields `value`
(float, absent for a fault without a raw value), `seq` (integer), `fault` (string, only on
a fault) and `clock_synced` (boolean); the point's time is the device time in nanoseconds
(milliseconds x 10^6, exact). The same reading written twice is the same point.

- `InfluxV2Sink`: influxdb-client's write API, SYNCHRONOUS, to /api/v2/write (InfluxDB 2.x,
  3.x, Cloud, 1.8+; VictoriaMetrics implements it too). First write wins the same way as v1,
  reading back through InfluxQL /query with the token (2.x: the DBRP mapping `store.database`;
  3.x; 1.8+). A server without /query (VictoriaMetrics) cannot be checked: the sink says so
  in the log once and writes as it comes (docs/storage.md#first-write-wins).
- `InfluxV1Sink`: the v1 /write endpoint (InfluxDB 1.x before 1.8), gzip. First write wins:
  before each batch it reads the stored points of the batch's probes and time range (one
  query), writes only new keys, and keeps conflicts in the `reading_conflict` measurement in
  the same /write request.
- `InfluxQLReadingStore`: reads back with InfluxQL over /query (1.x; 2.x with a DBRP mapping
  and a token; 3.x).
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import urllib3

from coldchain.protocol import CHANNELS, PROBE_ID_RE, Reading
from coldchain.readingstore.base import (
    Conflict,
    ReadingTuple,
    SinkError,
    SinkRejected,
    fingerprint,
    first_writes,
)

log = logging.getLogger(__name__)

MEASUREMENT = "reading"
CONFLICT_MEASUREMENT = "reading_conflict"
NS_PER_MS = 1_000_000

# Statuses after which a retry cannot succeed: the points themselves are refused.
_PERMANENT_STATUSES = frozenset({400, 413, 422})


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _string_field(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@functools.lru_cache(maxsize=65536)
def _series(channel: str, probe: str) -> str:
    return f"{MEASUREMENT},channel={_tag(channel)},probe={_tag(probe)} "


def line(r: Reading) -> str:
    """One point in line protocol (tags sorted by key, as InfluxDB prefers)."""
    return row_line(r.probe_id, r.channel, r.time_ms, r.seq, r.value, r.fault, r.clock_synced)


def row_line(
    probe: str,
    channel: str,
    time_ms: int,
    seq: int,
    value: float | None,
    fault: str | None,
    synced: bool,
) -> str:
    """`line` from a reading's fields (a `ReadingTuple`): no Reading object per reading."""
    flag = "true" if synced else "false"
    if fault is None and value is not None:  # the usual reading, in one format
        return (
            f"{_series(channel, probe)}value={float(value)!r},seq={seq}i,clock_synced={flag} "
            f"{time_ms * NS_PER_MS}"
        )
    fields = []
    if value is not None:
        fields.append(f"value={float(value)!r}")
    fields.append(f"seq={seq}i")
    if fault is not None:
        fields.append(f"fault={_string_field(fault)}")
    fields.append(f"clock_synced={flag}")
    return f"{_series(channel, probe)}{','.join(fields)} {time_ms * NS_PER_MS}"


def lines(readings: Sequence[Reading]) -> bytes:
    return ("\n".join(line(r) for r in readings)).encode()


def _tuples(readings: Sequence[Reading]) -> list[ReadingTuple]:
    return [
        (r.probe_id, r.channel, r.time_ms, r.seq, r.value, r.fault, r.clock_synced)
        for r in readings
    ]


def spooled_tuples(spooled: str) -> list[ReadingTuple]:
    """The readings of a spooled batch (base.SpooledRowsSink) as tuples, oldest first: one
    `json.loads` per message, clock_synced as a bool (rows spooled before hold 1/0)."""
    return [
        (probe, c, t, s, v, f, u is True or u == 1)
        for probe, blob in json.loads(spooled)
        for c, t, s, v, f, u in json.loads(blob)
    ]


def _body(new: Sequence[ReadingTuple], conflicts: Sequence[Conflict]) -> str:
    return "\n".join([*(row_line(*row) for row in new), *map(conflict_line, conflicts)])


def conflict_line(c: Conflict) -> str:
    """A kept conflict: series (channel, probe, digest of the new reading), the reading's time;
    the stored fields as `stored_*`, the new ones as they came, and when it was received. The
    same conflict sent again is the same point."""
    fields = []
    for prefix, r in (("stored_", c.stored), ("", c.new)):
        if r.value is not None:
            fields.append(f"{prefix}value={float(r.value)!r}")
        fields.append(f"{prefix}seq={r.seq}i")
        if r.fault is not None:
            fields.append(f"{prefix}fault={_string_field(r.fault)}")
        fields.append(f"{prefix}clock_synced=" + ("true" if r.clock_synced else "false"))
    fields.append(f"received_ms={c.received_ms}i")
    r = c.new
    return (
        f"{CONFLICT_MEASUREMENT},channel={_tag(r.channel)},digest={fingerprint(r)},"
        f"probe={_tag(r.probe_id)} {','.join(fields)} {r.time_ms * NS_PER_MS}"
    )


def _raise_for_status(status: int, body: bytes, what: str) -> None:
    if 200 <= status < 300:
        return
    detail = f"{what}: HTTP {status}: {body[:300].decode('utf-8', 'replace')}"
    if status in _PERMANENT_STATUSES:
        raise SinkRejected(detail)
    raise SinkError(detail)


def _v1_params(
    database: str,
    retention_policy: str | None,
    username: str | None,
    password: str | None,
    **more: str,
) -> dict[str, str]:
    """Query parameters of InfluxDB's v1 API (/write, /query): the database, `more`, then the
    retention policy and the credentials when given."""
    params = {"db": database, **more}
    if retention_policy:
        params["rp"] = retention_policy
    if username:
        params["u"] = username
        params["p"] = password or ""
    return params


class QueryUnavailable(SinkError):
    """The server has no InfluxQL /query (VictoriaMetrics): stored points cannot be read back."""


class ReadBack:
    """First write wins on InfluxDB, where a point written again with the same series and time
    replaces the stored one: before a batch is written, its probes' stored points over its time
    range are read back with one InfluxQL query, and only new keys are written; a stored key
    with other fields is a conflict, written to `reading_conflict` unless kept already."""

    def __init__(
        self,
        http: urllib3.PoolManager,
        url: str,
        fields: dict[str, str],  # db (rp, u, p) of /query
        headers: dict[str, str],  # the token, for 2.x / 3.x
    ) -> None:
        self._http = http
        self.url = url
        self.fields = fields
        self.headers = headers

    def split(self, rows: Sequence[ReadingTuple]) -> tuple[list[ReadingTuple], list[Conflict]]:
        """The readings to write and the conflicts not kept before."""
        new, conflicts = first_writes(rows, self._stored(rows), int(time.time() * 1000))
        if conflicts:
            kept = self._kept(conflicts)
            conflicts = [c for c in conflicts if (*c.new.key, fingerprint(c.new)) not in kept]
        return new, conflicts

    def close(self) -> None:
        self._http.clear()

    def _select(self, q: str) -> Iterator[dict[str, Any]]:
        """Series of an InfluxQL answer; any failure is a `SinkError` (the batch is retried)."""
        fields = self.fields | {"q": q, "epoch": "ms"}
        try:
            resp = self._http.request(
                "POST", f"{self.url}/query", fields=fields, headers=self.headers
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SinkError(f"InfluxDB unreachable: {exc}") from exc
        if resp.status in (400, 404, 405) and b"results" not in resp.data:
            # Not an InfluxQL error (those come as {"results": [{"error": ...}]}, 400 included):
            # no /query endpoint at all.
            raise QueryUnavailable(f"no InfluxQL /query: HTTP {resp.status}: {resp.data[:200]!r}")
        if resp.status >= 300:
            raise SinkError(f"InfluxDB /query: HTTP {resp.status}: {resp.data[:300]!r}")
        for result in json.loads(resp.data).get("results", []):
            if "error" in result and "database not found" not in result["error"]:
                raise SinkError(f"InfluxDB /query: {result['error']}")
            for series in result.get("series", []):
                if "tags" not in series:
                    # Every query here groups by tags. VictoriaMetrics answers any /query with
                    # a fixed list of databases (for Grafana's sake), not InfluxQL.
                    raise QueryUnavailable(f"/query did not run InfluxQL: {series!r}"[:200])
                yield series

    def _source(self, measurement: str) -> str:
        rp = self.fields.get("rp")
        return f'"{rp}"."{measurement}"' if rp else f'"{measurement}"'

    @staticmethod
    def _batch_where(keys: Sequence[tuple[str, str, int] | ReadingTuple]) -> str:
        """The batch's probes and time range, from each reading's (probe, channel, time_ms)
        or any tuple starting with them."""
        probes = "|".join(sorted({_check_probe(p) for p in {k[0] for k in keys}}))
        times = [k[2] for k in keys]
        return (
            f'WHERE "probe" =~ /^({probes})$/ AND time >= {min(times)}ms AND time <= {max(times)}ms'
        )

    def _stored(self, rows: Sequence[ReadingTuple]) -> dict[tuple[str, str, int], ReadingTuple]:
        """The stored points of the batch's probes over its time range: one query."""
        q = (
            f"SELECT {_FIELDS} FROM {self._source(MEASUREMENT)} {self._batch_where(rows)} "
            'GROUP BY "probe", "channel"'
        )
        stored = {}
        for series in self._select(q):
            tags = series["tags"]
            probe, channel, columns = tags["probe"], tags["channel"], series["columns"]
            for values in series.get("values", []):
                row = _point_tuple(probe, channel, columns, values)
                stored[row[:3]] = row
        return stored

    def _kept(self, conflicts: Sequence[Conflict]) -> set[tuple[str, str, int, str]]:
        """Conflicts already kept (a retried batch), as (probe, channel, time_ms, digest)."""
        where = self._batch_where([c.new.key for c in conflicts])
        q = (
            f'SELECT "seq" FROM {self._source(CONFLICT_MEASUREMENT)} '
            f'{where} GROUP BY "probe", "channel", "digest"'
        )
        kept = set()
        for series in self._select(q):
            tags = series["tags"]
            for values in series.get("values", []):
                kept.add((tags["probe"], tags["channel"], int(values[0]), tags["digest"]))
        return kept


class InfluxV1Sink:
    """InfluxDB 1.x `/write` (database, retention policy, user/password), gzip body."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        retention_policy: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        gzip_body: bool = True,
        create_database: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.params = _v1_params(database, retention_policy, username, password, precision="ns")
        self.gzip_body = gzip_body
        self.database = database
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=timeout_s), retries=False, maxsize=2
        )
        self._database_ready = not create_database
        query_fields = {k: v for k, v in self.params.items() if k != "precision"}
        self._read_back = ReadBack(self._http, self.url, query_fields, {})

    def _post(self, url: str, **request: Any) -> urllib3.BaseHTTPResponse:
        try:
            return self._http.request("POST", url, **request)
        except urllib3.exceptions.HTTPError as exc:
            raise SinkError(f"InfluxDB unreachable: {exc}") from exc

    def _ensure_database(self) -> None:
        # CREATE DATABASE is idempotent; a user without admin rights gets 403: carry on, the
        # write itself then says whether the database exists.
        q = f'CREATE DATABASE "{self.database}"'
        fields = {k: v for k, v in self.params.items() if k in ("u", "p")} | {"q": q}
        if self._post(f"{self.url}/query", fields=fields).status < 300:
            self._database_ready = True

    def write(self, readings: Sequence[Reading]) -> int:
        self.write_first(readings)
        return len(readings)

    def write_first(self, readings: Sequence[Reading]) -> list[Conflict]:
        """Write the readings whose key is not stored yet, and the conflicts (a stored key with
        other fields) to `reading_conflict`, in one /write. Returns the conflicts not kept before.

        Check then write: right for one writer (the gateway's single drainer). A retried batch
        finds its own points stored and identical: duplicates, not conflicts."""
        return self._write_first_tuples(_tuples(readings))

    def write_first_spooled(self, spooled: str, count: int) -> list[Conflict]:
        """`write_first` for a batch in the spool's layout (base.SpooledRowsSink): checked and
        written from tuples, a Reading object built for a conflict only."""
        return self._write_first_tuples(spooled_tuples(spooled))

    def _write_first_tuples(self, rows: Sequence[ReadingTuple]) -> list[Conflict]:
        if not rows:
            return []
        if not self._database_ready:
            self._ensure_database()
        new, conflicts = self._read_back.split(rows)
        if new or conflicts:
            self._post_lines(_body(new, conflicts))
        return conflicts

    def _post_lines(self, text: str) -> None:
        body = text.encode()
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip_body:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        resp = self._post(f"{self.url}/write?{urlencode(self.params)}", body=body, headers=headers)
        _raise_for_status(resp.status, resp.data, "InfluxDB /write")

    def close(self) -> None:
        self._http.clear()


class InfluxV2Sink:
    """influxdb-client write API, SYNCHRONOUS: the call returns once the server took the batch.

    (The client's batching mode keeps its buffer in memory and its flush() does nothing, so
    the gateway batches itself, from its durable spool.)
    """

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        database: str | None = None,
        timeout_s: float = 10.0,
        gzip_body: bool = True,
    ) -> None:
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.service.write_service import WriteService

        self.bucket = bucket
        self.org = org
        self.gzip_body = gzip_body
        self._precision: Any = WritePrecision.NS
        # retries=False: the drainer owns retrying (with backoff, from the spool).
        # The client's own gzip runs at level 9: ~3 us of CPU per reading, more than the
        # rest of the write. The body is compressed here at level 1 instead (as for v1).
        self._client = InfluxDBClient(
            url=url,
            token=token,
            org=org,
            timeout=int(timeout_s * 1000),
            enable_gzip=False,
            retries=False,
        )
        self._write_service = WriteService(self._client.api_client)  # type: ignore[no-untyped-call]
        # Reading back through InfluxQL: the database a DBRP mapping gives the bucket (2.x), or
        # the bucket's own name (3.x, 1.8+). None once the server proved to have no /query.
        self._read_back: ReadBack | None = ReadBack(
            urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False, maxsize=2),
            url.rstrip("/"),
            {"db": database or bucket},
            {"Authorization": f"Token {token}"},
        )

    def write(self, readings: Sequence[Reading]) -> int:
        self.write_first(readings)
        return len(readings)

    def _post_write(self, body: bytes) -> None:
        from influxdb_client.rest import ApiException

        encoding: dict[str, str] = {}
        if self.gzip_body:
            body = gzip.compress(body, compresslevel=1)
            encoding["content_encoding"] = "gzip"
        try:
            self._write_service.post_write(  # type: ignore[no-untyped-call]
                org=self.org, bucket=self.bucket, body=body, precision=self._precision,
                content_type="text/plain; charset=utf-8", **encoding,
            )  # fmt: skip
        except ApiException as exc:
            _raise_for_status(int(exc.status or 0), str(exc.body or "").encode(), "/api/v2/write")
            raise SinkError(f"/api/v2/write: {exc}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkError(f"/api/v2/write unreachable: {exc}") from exc

    def write_first(self, readings: Sequence[Reading]) -> list[Conflict]:
        """As `InfluxV1Sink.write_first`: only new keys written, conflicts kept aside, in one
        /api/v2/write. On a server without /query (VictoriaMetrics, whose own rule for two
        samples at one instant is its deduplication), the batch is written unchecked."""
        return self._write_first_tuples(_tuples(readings))

    def write_first_spooled(self, spooled: str, count: int) -> list[Conflict]:
        """`write_first` for a batch in the spool's layout (base.SpooledRowsSink), as
        `InfluxV1Sink.write_first_spooled`."""
        return self._write_first_tuples(spooled_tuples(spooled))

    def _write_first_tuples(self, rows: Sequence[ReadingTuple]) -> list[Conflict]:
        if not rows:
            return []
        new: Sequence[ReadingTuple] = rows
        conflicts: list[Conflict] = []
        if self._read_back is not None:
            try:
                new, conflicts = self._read_back.split(rows)
            except QueryUnavailable as exc:
                log.warning(
                    "first write wins cannot be checked on %s (%s): later values for a stored "
                    "instant are written as they come (docs/storage.md#first-write-wins)",
                    self._read_back.url, exc,
                )  # fmt: skip
                self._read_back = None
        if new or conflicts:
            self._post_write(_body(new, conflicts).encode())
        return conflicts

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
        if self._read_back is not None:
            self._read_back.close()


# --- Reading back with InfluxQL ---------------------------------------------------------------


def _check_probe(probe_id: str) -> str:
    # Identifiers are validated, never escaped: nothing but [a-z0-9-] reaches the query text.
    if not PROBE_ID_RE.fullmatch(probe_id):
        raise ValueError(f"not a probe id: {probe_id!r}")
    return probe_id


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"not a channel: {channel!r}")
    return channel


_FIELDS = '"value", "seq", "fault", "clock_synced"'


def _where(
    probe_id: str | None, start_ms: int | None, end_ms: int | None, channel: str | None = None
) -> str:
    """`WHERE` and the conditions given (a probe, start_ms <= time < end_ms, a channel), or
    nothing when none is."""
    conditions = []
    if probe_id is not None:
        conditions.append(f"\"probe\" = '{_check_probe(probe_id)}'")
    if start_ms is not None:
        conditions.append(f"time >= {int(start_ms)}ms")
    if end_ms is not None:
        conditions.append(f"time < {int(end_ms)}ms")
    if channel is not None:
        conditions.append(f"\"channel\" = '{_check_channel(channel)}'")
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _point(probe: str, channel: str, columns: list[str], values: list[Any]) -> Reading:
    return Reading(*_point_tuple(probe, channel, columns, values))


def _point_tuple(probe: str, channel: str, columns: list[str], values: list[Any]) -> ReadingTuple:
    row = dict(zip(columns, values, strict=True))
    value = row.get("value")
    return (
        probe,
        channel,
        int(row["time"]),
        int(row["seq"]),
        None if value is None else float(value),
        row.get("fault"),
        row.get("clock_synced") is not False,
    )


_CONFLICT_FIELDS = (
    '"stored_value", "stored_seq", "stored_fault", "stored_clock_synced", '
    '"value", "seq", "fault", "clock_synced", "received_ms"'
)


def _conflict_point(columns: list[str], values: list[Any]) -> Conflict:
    """A `reading_conflict` point (conflict_line) read back as the Conflict it was."""
    row = dict(zip(columns, values, strict=True))
    stored = {"time": row["time"]} | {
        field: row.get(f"stored_{field}") for field in ("value", "seq", "fault", "clock_synced")
    }
    probe, channel = str(row["probe"]), str(row["channel"])
    return Conflict(
        _point(probe, channel, list(stored), list(stored.values())),
        _point(probe, channel, columns, values),
        int(row["received_ms"]),
    )


class InfluxQLReadingStore:
    """`ReadingStore` over InfluxDB's /query (InfluxQL), for 1.x, 2.x (DBRP) and 3.x."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        retention_policy: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.source = (
            f'"{retention_policy}"."{MEASUREMENT}"' if retention_policy else f'"{MEASUREMENT}"'
        )
        self.params = _v1_params(database, retention_policy, username, password, epoch="ms")
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=2)

    def _query(self, q: str) -> Iterator[dict[str, Any]]:
        """Series of the answer; chunked so large answers are never cut at a row limit."""
        fields = self.params | {"q": q, "chunked": "true", "chunk_size": "10000"}
        resp = self._http.request("GET", f"{self.url}/query", fields=fields, headers=self.headers)
        if resp.status >= 300:
            raise RuntimeError(f"InfluxQL query failed: HTTP {resp.status}: {resp.data[:300]!r}")
        for chunk in resp.data.splitlines():
            if not chunk.strip():
                continue
            body = json.loads(chunk)
            for result in body.get("results", []):
                if "error" in result:
                    raise RuntimeError(f"InfluxQL error: {result['error']}")
                yield from result.get("series", [])

    _reading = staticmethod(_point)

    def readings(
        self, probe_id: str, start_ms: int, end_ms: int, channel: str | None = None
    ) -> list[Reading]:
        where = _where(probe_id, start_ms, end_ms, channel)
        q = f'SELECT {_FIELDS} FROM {self.source} {where} GROUP BY "channel"'
        out = []
        for series in self._query(q):
            ch = series["tags"]["channel"]
            for values in series.get("values", []):
                out.append(self._reading(probe_id, ch, series["columns"], values))
        out.sort(key=lambda r: (r.time_ms, r.channel))
        return out

    def latest(self, probe_ids: Sequence[str] | None = None) -> dict[tuple[str, str], Reading]:
        where = ""
        if probe_ids is not None:
            if not probe_ids:
                return {}
            alternatives = "|".join(_check_probe(p) for p in probe_ids)
            where = f'WHERE "probe" =~ /^({alternatives})$/ '
        q = (
            f"SELECT {_FIELDS} FROM {self.source} {where}"
            'GROUP BY "probe", "channel" ORDER BY time DESC LIMIT 1'
        )
        out = {}
        for series in self._query(q):
            tags = series["tags"]
            for values in series.get("values", []):
                reading = self._reading(tags["probe"], tags["channel"], series["columns"], values)
                out[(reading.probe_id, reading.channel)] = reading
        return out

    def count(
        self,
        probe_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int:
        where = _where(probe_id, start_ms, end_ms)
        total = 0
        for series in self._query(f'SELECT COUNT("seq") FROM {self.source} {where}'):
            for values in series.get("values", []):
                total += int(values[1])
        return total

    def conflicts(self, probe_ids: Sequence[str] | None = None, limit: int = 100) -> list[Conflict]:
        """Kept conflicts (`reading_conflict`) of the given probes (None: all), newest received
        first. InfluxDB orders points by their time only, the reading's device time: the
        `limit` conflicts of the latest instants are read (one series: the tags selected as
        columns, not grouped), then sorted by when they were received."""
        where = ""
        if probe_ids is not None:
            if not probe_ids:
                return []
            where = f'WHERE "probe" =~ /^({"|".join(_check_probe(p) for p in probe_ids)})$/ '
        rp = self.params.get("rp")
        source = f'"{rp}"."{CONFLICT_MEASUREMENT}"' if rp else f'"{CONFLICT_MEASUREMENT}"'
        q = (
            f'SELECT "probe", "channel", {_CONFLICT_FIELDS} FROM {source} {where}'
            f"ORDER BY time DESC LIMIT {int(limit)}"
        )
        out = []
        for series in self._query(q):
            if series.get("name") != CONFLICT_MEASUREMENT:
                continue  # not InfluxQL's answer (a server without it): nothing to read
            for values in series.get("values", []):
                out.append(_conflict_point(series["columns"], values))
        out.sort(key=lambda c: (-c.received_ms, -c.new.time_ms, c.new.probe_id, c.new.channel))
        return out

    def close(self) -> None:
        self._http.clear()
