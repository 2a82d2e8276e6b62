"""The one settings class: environment over TOML over defaults; production refuses defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from coldchain.settings import DEFAULT_SECRET, Settings, load_settings

STRONG = "x" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("COLDCHAIN_"):
            monkeypatch.delenv(name)


def test_defaults_are_for_a_single_cooperative_on_sqlite() -> None:
    settings = Settings()
    assert settings.mode == "development"
    assert settings.store.kind == "sqlite"
    assert settings.clock.timezone == "Europe/Brussels"
    assert settings.server.default_language == "fr"


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLDCHAIN_MODE", "production")
    with pytest.raises(ValidationError, match=r"server\.secret_key"):
        Settings()
    monkeypatch.setenv("COLDCHAIN_SERVER__SECRET_KEY", "short-but-not-default")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings()
    monkeypatch.setenv("COLDCHAIN_SERVER__SECRET_KEY", STRONG)
    assert Settings().mode == "production"


def test_production_refuses_default_broker_password_and_missing_influx_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLDCHAIN_MODE", "production")
    monkeypatch.setenv("COLDCHAIN_SERVER__SECRET_KEY", STRONG)
    monkeypatch.setenv("COLDCHAIN_MQTT__PASSWORD", DEFAULT_SECRET)
    with pytest.raises(ValidationError, match=r"mqtt\.password"):
        Settings()
    monkeypatch.setenv("COLDCHAIN_MQTT__PASSWORD", "a-real-password")
    monkeypatch.setenv("COLDCHAIN_STORE__KIND", "influxdb2")
    with pytest.raises(ValidationError, match=r"store\.token"):
        Settings()


def test_toml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "coldchain.toml"
    config.write_text(
        '[mqtt]\nhost = "broker.coop.lan"\nport = 8883\n\n'
        '[store]\nkind = "influxdb1"\nurl = "http://influx:8086"\n'
    )
    settings = load_settings(config)
    assert (settings.mqtt.host, settings.mqtt.port, settings.store.kind) == (
        "broker.coop.lan",
        8883,
        "influxdb1",
    )
    monkeypatch.setenv("COLDCHAIN_MQTT__PORT", "1884")
    assert load_settings(config).mqtt.port == 1884


def test_unknown_or_invalid_settings_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[mqtt]\nport = 70000\n")
    with pytest.raises(ValidationError, match="port"):
        load_settings(config)
    config.write_text('typo_section = "x"\n')
    with pytest.raises(ValidationError, match="typo_section"):
        load_settings(config)


def test_missing_configuration_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def _field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _field_paths(annotation, f"{prefix}{name}.")
        else:
            paths.append(f"{prefix}{name}")
    return paths


def test_every_setting_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = [p for p in _field_paths(Settings) if f"| `{p}` |" not in doc]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"
