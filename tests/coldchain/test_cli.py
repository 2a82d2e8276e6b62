"""The installed `coldchain` console command, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

COLDCHAIN = str(Path(sys.executable).with_name("coldchain"))


def run(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    environment.update(env or {})
    return subprocess.run(
        [COLDCHAIN, *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def test_validate_accepts_a_valid_batch(tmp_path: Path) -> None:
    import time

    now = int(time.time() * 1000)
    payload = {"v": 1, "id": "van1", "fw": "1.0.0", "r": [{"s": 1, "c": "air", "t": now, "v": 3.5}]}
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(payload))
    result = run("validate", str(path), "--topic", "cc/v1/dev/van1/up/readings")
    assert result.returncode == 0, result.stderr
    assert "valid: 1 readings from probe van1" in result.stdout


def test_validate_names_the_reason_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"v":1,"on":"yes"}')
    result = run("validate", str(path), "--kind", "alarm")
    assert result.returncode == 1
    assert result.stdout.startswith("rejected: wrong_type")


def test_validate_reads_standard_input_and_refuses_oversize() -> None:
    result = run("validate", "-", stdin=b"x" * 100_000)
    assert result.returncode == 1
    assert "payload_too_large" in result.stdout


def test_config_masks_secrets_and_refuses_defaults_in_production() -> None:
    shown = run("config", "--json", env={"COLDCHAIN_MQTT__PASSWORD": "hunter2-secret"})
    assert shown.returncode == 0, shown.stderr
    assert "hunter2-secret" not in shown.stdout
    assert json.loads(shown.stdout)["mqtt"]["password"] == "**********"
    refused = run("config", env={"COLDCHAIN_MODE": "production"})
    assert refused.returncode == 2
    assert "refuses default or empty secrets" in refused.stderr


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "none.toml"), "config")
    assert result.returncode == 2
    assert "configuration file not found" in result.stderr
