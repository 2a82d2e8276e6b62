"""The one settings class: environment variables, then an optional TOML file, then defaults.

Environment variables start with `COLDCHAIN_` and use `__` for nesting
(`COLDCHAIN_MQTT__HOST=broker.lan`). The TOML file is named by `COLDCHAIN_CONFIG`
(or passed to `load_settings`). docs/configuration.md lists every field.
In production mode the settings refuse default or empty secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_SECRET = "changethis"


class MqttSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls_ca: Path | None = None  # CA file; setting it turns TLS on
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    session_expiry_s: int = Field(7 * 24 * 3600, ge=60)  # a persistent session outlives restarts


class StoreSettings(BaseModel):
    """Where readings live: the embedded SQLite store or an InfluxDB."""

    kind: Literal["sqlite", "influxdb1", "influxdb2"] = "sqlite"
    sqlite_path: Path = Path("var/readings.sqlite3")
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


class GatewaySettings(BaseModel):
    client_id: str = "coldchain-gateway-1"  # stable: the broker keeps its session by this id
    share_group: str = "gateway"
    spool_path: Path = Path("var/gateway-spool.sqlite3")
    spool_max_readings: int = Field(5_000_000, ge=1000)
    batch_size: int = Field(5000, ge=1, le=5000)
    serial_ports: list[str] = []
    serial_baud: int = 115200
    metrics_port: int | None = Field(9108, ge=0, le=65535)


class ServerSettings(BaseModel):
    database_url: str = "sqlite:///var/coldchain.sqlite3"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    timezone: str = "Europe/Brussels"
    default_language: Literal["fr", "en"] = "fr"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COLDCHAIN_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="forbid",
    )

    mode: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    mqtt: MqttSettings = MqttSettings()
    store: StoreSettings = StoreSettings()
    gateway: GatewaySettings = GatewaySettings()
    server: ServerSettings = ServerSettings()

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.mode != "production":
            return self
        problems = []
        if self.server.secret_key.get_secret_value() in ("", DEFAULT_SECRET):
            problems.append("server.secret_key")
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
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("COLDCHAIN_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)


def load_settings(toml_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and `toml_file` (or `$COLDCHAIN_CONFIG`)."""
    if toml_file is not None:
        if not toml_file.is_file():
            raise FileNotFoundError(f"configuration file not found: {toml_file}")
        os.environ["COLDCHAIN_CONFIG"] = str(toml_file)
    elif (path := os.environ.get("COLDCHAIN_CONFIG")) and not Path(path).is_file():
        raise FileNotFoundError(f"configuration file not found: {path}")
    return Settings(**overrides)
