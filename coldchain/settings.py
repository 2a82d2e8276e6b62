"""The one settings class: environment variables, then an optional TOML file, then defaults.

Environment variables start with `COLDCHAIN_` and use `__` for nesting
(`COLDCHAIN_MQTT__HOST=broker.lan`). The TOML file is named by `COLDCHAIN_CONFIG`
(or passed to `load_settings`). docs/configuration.md lists every field.
Every file the system keeps derives from `data_dir` unless set on its own, and every path
comes out absolute (a relative one in the file is taken from the file's folder, else from
the working directory), so that any command, run from anywhere, finds the same files.
In production mode the settings refuse default or empty secrets.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_SECRET = "changethis"
# Under data_dir unless set on their own (Settings._under_data_dir).
SERVER_DATABASE = "coldchain.sqlite3"
READINGS_DATABASE = "readings.sqlite3"
GATEWAY_SPOOL = "gateway-spool.sqlite3"
EXPORTS = "exports"
# The session-signing key `coldchain up` and `server run` create at their first start in
# production (startup.py), read when `server.secret_key` is not set.
SECRET_KEY_FILE = "secret_key"


class MqttSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls_ca: Path | None = None  # CA file; setting it turns TLS on
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # What a probe is given to reach the broker (provisioning file, `coldchain up`'s printout):
    # the host name or LAN address of this machine, and the TLS listener's port.
    public_host: str | None = None  # unset: this machine's host name
    tls_port: int = Field(8883, ge=1, le=65535)
    # The managed broker's TLS listener with the operator's own files (all three, PEM); unset:
    # a certificate authority created under <data_dir>/tls/ (coldchain/certificates.py).
    broker_ca: Path | None = None
    broker_cert: Path | None = None
    broker_key: Path | None = None
    # With `lan`, the managed broker's plain listener (`port`) stays on 127.0.0.1 for this
    # machine's services; true also opens it on every interface (probes without TLS).
    plain_on_lan: bool = False
    keepalive_s: int = Field(30, ge=5, le=3600)
    session_expiry_s: int = Field(7 * 24 * 3600, ge=60)  # a persistent session outlives restarts
    # `coldchain up` runs its own Mosquitto on host:port; false = use an existing broker.
    managed: bool = True
    # With managed = false: that broker reads coldchain's password file and ACL (the system's
    # Mosquitto after `coldchain install --systemd --system-broker`), so the gateway and the
    # alert worker each log in with their own account, as with the managed broker; false:
    # every service uses `username` / `password` above.
    coldchain_accounts: bool = False

    @model_validator(mode="after")
    def _own_files_together(self) -> MqttSettings:
        given = [self.broker_ca, self.broker_cert, self.broker_key]
        if any(given) and not all(given):
            raise ValueError("mqtt.broker_ca, broker_cert et broker_key vont ensemble (les trois)")
        return self


class StoreSettings(BaseModel):
    """Where readings live: the embedded SQLite store or an InfluxDB."""

    kind: Literal["sqlite", "influxdb1", "influxdb2"] = "sqlite"
    sqlite_path: Path = Path(READINGS_DATABASE)  # unset: <data_dir>/readings.sqlite3
    url: str = "http://127.0.0.1:8086"
    # InfluxDB 2.x / 3.x / Cloud / 1.8+ through /api/v2/write
    token: SecretStr | None = None
    org: str = "coldchain"
    bucket: str = "coldchain"
    # InfluxDB 1.x through /write and /query
    database: str = "coldchain"
    retention_policy: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(10.0, gt=0)
    gzip: bool = True  # compress write bodies (InfluxDB 1.x /write and /api/v2/write)
    create_database: bool = True  # influxdb1: CREATE DATABASE at the first write (idempotent)


class GatewaySettings(BaseModel):
    client_id: str = "coldchain-gateway-1"  # stable: the broker keeps its session by this id
    share_group: str = "gateway"
    shared_subscription: bool = True  # false: plain subscription (one gateway; see docs/gateway.md)
    spool_path: Path = Path(GATEWAY_SPOOL)  # unset: <data_dir>/gateway-spool.sqlite3
    spool_max_readings: int = Field(5_000_000, ge=1000)
    batch_size: int = Field(5000, ge=1, le=5000)
    serial_ports: list[str] = []
    serial_baud: int = 115200
    metrics_port: int | None = Field(9108, ge=0, le=65535)
    metrics_addr: str = "127.0.0.1"
    receive_maximum: int = Field(1000, ge=1, le=65535)  # MQTT 5: unacked messages in flight
    spool_fsync: bool = True  # each spool commit survives a power cut, not only a crash
    sink_max_backoff_s: float = Field(30.0, gt=0)
    shutdown_flush_s: float = Field(10.0, ge=0)  # on SIGTERM, time given to empty the spool
    serial_reopen_max_s: float = Field(10.0, gt=0)  # backoff cap when a port is unplugged


class ServerSettings(BaseModel):
    database_url: str = f"sqlite:///{SERVER_DATABASE}"  # unset: <data_dir>/coldchain.sqlite3
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)  # unset: <data_dir>/secret_key if there
    default_language: Literal["fr", "nl", "en"] = "fr"
    migrate_on_start: bool = True  # run `alembic upgrade head` when the app starts
    session_cookie_name: str = "coldchain_session"
    session_cookie_secure: bool = False  # set True behind HTTPS
    token_lifetime_h: int = Field(12, ge=1, le=24 * 90)
    # Login rate limits (server/domain/sessions.py). Per account: after this many failures
    # in the window, each attempt waits 1 s after the last failure, then 2, 4, 8 … up to
    # login_max_delay_s (no lockout: the right password works once the wait is over).
    # Per client IP: this many failures in the window, then HTTP 429 until the oldest leaves.
    login_window_s: int = Field(900, ge=10)
    login_max_failures_account: int = Field(5, ge=1)
    login_max_delay_s: int = Field(60, ge=1)
    login_max_failures_ip: int = Field(20, ge=1)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # like uvicorn's forwarded_allow_ips; "*" trusts everyone: only behind a proxy that
    # overwrites them). Empty: the TCP peer is the client, whatever the headers say.
    forwarded_allow_ips: list[str] = []
    # Public record checks (the page a sealed record's QR code opens) allowed per client IP in
    # the same window, counted by the same limiter (server/domain/sessions.py).
    record_checks_per_ip: int = Field(30, ge=1)
    # The server's address as the public sees it (https://froid.example.be): printed in the QR
    # code of every sealed delivery record. Unset: `alerting.public_url`.
    public_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    # argon2id cost; the defaults follow argon2-cffi (RFC 9106 low-memory profile).
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    max_body_bytes: int = Field(1_000_000, ge=1024)  # larger request bodies get 413


class WebhookTarget(BaseModel):
    url: str
    secret: SecretStr  # HMAC-SHA256 key for the X-Coldchain-Signature header


class AlertingSettings(BaseModel):
    """The alert worker, escalation and notifications (docs/alert-lifecycle.md)."""

    client_id: str = "coldchain-alerts-1"  # stable: the broker keeps this worker's session
    share_group: str = "alerts"
    shared_subscription: bool = True  # false: plain subscription (survives a broker restart)
    in_server: bool = False  # also run the worker inside `coldchain server run`
    receive_maximum: int = Field(1000, ge=1, le=65535)
    # The active worker's lease (server/alerting/lease.py): renewed every quarter of it; a
    # standby worker (same client_id) takes over once it went this long without renewal.
    lease_s: float = Field(20.0, ge=2.0, le=600.0)
    state_save_s: float = Field(10.0, gt=0)  # engine state saved (then messages acked) this often
    silence_check_s: float = Field(60.0, gt=0)
    # Overdue probe verifications -> calibration_overdue alerts (server/alerting/maintenance.py);
    # 0 turns the check off (then run `coldchain records calibrations-due` from a timer).
    calibration_check_s: float = Field(3600.0, ge=0)
    refresh_s: float = Field(30.0, gt=0)  # re-read installations, calibrations and lots
    empty_zone_category: str = "ambient"  # a van zone with nothing on board
    escalation_after_min: float = Field(15.0, gt=0)
    reminder_every_min: float = Field(30.0, gt=0)
    notify_poll_s: float = Field(1.0, gt=0)
    notify_retry_s: float = Field(30.0, gt=0)  # first retry delay, doubled each attempt
    notify_max_attempts: int = Field(8, ge=1)
    sse_poll_s: float = Field(0.1, gt=0)  # one indexed query per open stream per poll
    smtp_host: str | None = None  # unset: no e-mail
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "alertes@coldchain.invalid"
    smtp_timeout_s: float = Field(10.0, gt=0)
    webhooks: list[WebhookTarget] = []
    webhook_timeout_s: float = Field(5.0, gt=0)
    public_url: str = "http://127.0.0.1:8000"  # links in e-mails
    # The language of the probes' displays, and of the e-mails to a user who chose none.
    language: Literal["fr", "nl", "en"] = "fr"


class RecordsSettings(BaseModel):
    """Sealed HACCP records, exports and retention (docs/records.md)."""

    # Records are evidence: kept at least 2 years (docs/sources.md#retention), never less.
    retention_days: int = Field(1095, ge=730)
    reseal_window_days: int = Field(30, ge=1)  # late readings this long after closing reseal
    max_export_days: int = Field(400, ge=1, le=3660)  # longest inspection-export period
    # Exports prepared in the background by the pages (server/records/export_jobs.py): their
    # files go in `export_dir` (unset: <data_dir>/exports) and are removed this long after
    # they were ready; the job itself stays listed, with « fichier supprimé le … ».
    export_dir: Path | None = None
    export_keep_hours: float = Field(24.0, gt=0, le=24 * 366)
    # The server's sealing timer: seals what the close could not (database busy, store down)
    # and reseals when late readings change a record; 0 leaves it to `coldchain records seal`.
    seal_every_s: float = Field(300.0, ge=0.0)


class ClockSettings(BaseModel):
    """The system's clock (coldchain/clock.py): the site's time zone, and the demo's
    accelerated time; left alone, the real clock."""

    speed: float = Field(1.0, ge=1.0, le=10_000.0)  # demo time runs this much faster...
    meets_real_at: float | None = None  # ...until this unix time, then it is real time
    # Every time a person reads, and every local calendar day, is in this IANA zone.
    timezone: str = "Europe/Brussels"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"fuseau horaire inconnu : {name!r} (nom IANA attendu)") from exc
        return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COLDCHAIN_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="forbid",
    )

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    # `coldchain up` (and `--lan`): the server and the broker listen on every interface, for
    # the phones and probes on the site's network; refused with an anonymous broker.
    lan: bool = False
    mqtt: MqttSettings = MqttSettings()
    store: StoreSettings = StoreSettings()
    gateway: GatewaySettings = GatewaySettings()
    server: ServerSettings = ServerSettings()
    alerting: AlertingSettings = AlertingSettings()
    records: RecordsSettings = RecordsSettings()
    clock: ClockSettings = ClockSettings()

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / SECRET_KEY_FILE

    @model_validator(mode="after")
    def _under_data_dir(self) -> Settings:
        """Paths left unset go under data_dir; all come out absolute. Runs before the
        secrets are judged: the secret key may come from the data folder."""
        # Filled through _filled, which leaves `model_fields_set` as the sources made it:
        # "not set" stays "not set" (here, in `coldchain up`, and in `coldchain config`).
        self.__dict__["data_dir"] = here = _absolute(self.data_dir)
        store = self.store.sqlite_path
        self.__dict__["store"] = _filled(self.store, sqlite_path=(
            _absolute(store) if "sqlite_path" in self.store.model_fields_set
            else here / READINGS_DATABASE))  # fmt: skip
        spool = self.gateway.spool_path
        self.__dict__["gateway"] = _filled(self.gateway, spool_path=(
            _absolute(spool) if "spool_path" in self.gateway.model_fields_set
            else here / GATEWAY_SPOOL))  # fmt: skip
        url = self.server.database_url
        server: dict[str, Any] = {"database_url": (
            _absolute_sqlite_url(url) if "database_url" in self.server.model_fields_set
            else f"sqlite:///{here / SERVER_DATABASE}")}  # fmt: skip
        if "secret_key" not in self.server.model_fields_set and self.secret_key_file.is_file():
            try:
                key = self.secret_key_file.read_text().strip()
            except OSError as exc:
                raise ValueError(f"clé secrète illisible : {self.secret_key_file} ({exc})") from exc
            server["secret_key"] = SecretStr(key)
        self.__dict__["server"] = _filled(self.server, **server)
        exports = self.records.export_dir
        self.__dict__["records"] = _filled(self.records, export_dir=(
            here / EXPORTS if exports is None else _absolute(exports)))  # fmt: skip
        self.__dict__["mqtt"] = _filled(self.mqtt, **{
            name: _absolute(value) for name, value in self.mqtt.__dict__.items()
            if isinstance(value, Path)})  # fmt: skip
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.mode != "production":
            return self
        problems = []
        if self.server.secret_key.get_secret_value() in ("", DEFAULT_SECRET):
            problems.append(
                "server.secret_key (not set, and no "
                f"{self.secret_key_file} yet: `coldchain up` creates it at first start)"
                if "secret_key" not in self.server.model_fields_set
                else "server.secret_key"
            )
        if len(self.server.secret_key.get_secret_value()) < 32:
            problems.append("server.secret_key (at least 32 characters)")
        if self.mqtt.password is not None and self.mqtt.password.get_secret_value() in (
            "",
            DEFAULT_SECRET,
        ):
            problems.append("mqtt.password")
        if self.store.kind == "influxdb2" and (
            self.store.token is None or self.store.token.get_secret_value() in ("", DEFAULT_SECRET)
        ):
            problems.append("store.token")
        if self.clock.speed != 1.0:
            problems.append("clock.speed (an accelerated clock is for the demo only)")
        if problems:
            raise ValueError(
                "production mode refuses default or empty secrets: " + ", ".join(problems)
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the TOML file, which wins over defaults.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(_FileSource(settings_cls))
        return tuple(sources)


class _FileSource(TomlConfigSettingsSource):
    """The TOML file, its relative paths taken from the file's folder: the same file means
    the same files whichever folder a command is run from."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        values = super()._read_file(file_path)
        folder = Path(file_path).resolve().parent
        _paths_from(values, Settings, folder)
        return values


def _paths_from(values: dict[str, Any], model: type[BaseModel], folder: Path) -> None:
    """Make the relative paths (Path fields, SQLite URLs) in `values` absolute from `folder`."""
    for name, info in model.model_fields.items():
        value = values.get(name)
        kinds = get_args(info.annotation) or (info.annotation,)
        if isinstance(value, dict):
            nested = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
            if nested:
                _paths_from(value, nested[0], folder)
        elif isinstance(value, str) and Path in kinds:
            values[name] = str(folder / Path(value).expanduser())
        elif isinstance(value, str) and name == "database_url" and value.startswith("sqlite:///"):
            path = value[len("sqlite:///") :]
            if path and not path.startswith(("/", ":memory:")):
                values[name] = f"sqlite:///{folder / path}"


def _absolute(path: Path) -> Path:
    """`path` from the working directory (a path from the TOML file was already made
    absolute from the file's folder, _FileSource)."""
    return (Path.cwd() / path.expanduser()).resolve()


def _absolute_sqlite_url(url: str) -> str:
    """`sqlite:///relative.db` made absolute like any path; other URLs as given."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path, mark, query = url[len(prefix) :].partition("?")
    if not path or path == ":memory:" or path.startswith("/"):
        return url
    return f"{prefix}{_absolute(Path(path))}{mark}{query}"


_M = TypeVar("_M", bound=BaseModel)


def _filled(model: _M, **values: Any) -> _M:
    """A copy of `model` with `values`, its `model_fields_set` unchanged."""
    copy = model.model_copy()
    copy.__dict__.update(values)
    return copy


def setting_sources(toml_file: Path | None = None) -> dict[str, str]:
    """Where each setting given somewhere came from: "environment" or "file", by dotted name
    (`server.database_url`); a setting absent here has its default (or derives from
    data_dir). `toml_file` as in `load_settings`."""
    if toml_file is None and os.environ.get("COLDCHAIN_CONFIG"):
        toml_file = Path(os.environ["COLDCHAIN_CONFIG"])
    found: dict[str, str] = {}
    if toml_file is not None and toml_file.is_file():
        with toml_file.open("rb") as file:
            _dotted(tomllib.load(file), Settings, "", found, "file")
    prefix = Settings.model_config.get("env_prefix", "")
    for name, value in os.environ.items():  # empty values are ignored (env_ignore_empty)
        if name.upper().startswith(prefix) and value and name.upper() != f"{prefix}CONFIG":
            found[name[len(prefix) :].lower().replace("__", ".")] = "environment"
    return found


def _dotted(
    values: dict[str, Any], model: type[BaseModel], prefix: str, into: dict[str, str], origin: str
) -> None:
    for name, value in values.items():
        info = model.model_fields.get(name)
        kinds = get_args(info.annotation) or (info.annotation,) if info is not None else ()
        nested = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        if isinstance(value, dict) and nested:
            _dotted(value, nested[0], f"{prefix}{name}.", into, origin)
        else:
            into[f"{prefix}{name}"] = origin


def load_settings(toml_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and `toml_file` (default: `$COLDCHAIN_CONFIG`)."""
    if toml_file is None and os.environ.get("COLDCHAIN_CONFIG"):
        toml_file = Path(os.environ["COLDCHAIN_CONFIG"])
    if toml_file is None:
        return Settings(**overrides)
    if not toml_file.is_file():
        raise FileNotFoundError(f"configuration file not found: {toml_file}")

    class SettingsFromFile(Settings):
        model_config = SettingsConfigDict(toml_file=toml_file)

    return SettingsFromFile(**overrides)
