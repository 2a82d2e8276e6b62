"""`coldchain gateway`: configuration errors, JSON logs, the commands on an empty spool."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from gateway.cli import JsonFormatter

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    env.update(PYTHONPATH=str(REPO), **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "coldchain.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_invalid_configuration_exits_2() -> None:
    result = _run("gateway", "run", env_extra={"COLDCHAIN_GATEWAY__BATCH_SIZE": "0"})
    assert result.returncode == 2
    assert "batch_size" in result.stderr


def test_status_without_a_spool_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite3"
    result = _run("gateway", "status", env_extra={"COLDCHAIN_GATEWAY__SPOOL_PATH": str(missing)})
    assert result.returncode == 2
    assert "no spool" in result.stderr
    assert not missing.exists()


def test_json_log_lines() -> None:
    record = logging.LogRecord(
        "gateway.intake", logging.ERROR, __file__, 1, "ALARM %s", ("x",), None
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["message"] == "ALARM x"
    assert line["logger"] == "gateway.intake" and line["time"].endswith("+00:00")


def test_the_gateway_command_takes_the_global_options(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\nspool_path = "{tmp_path / "absent.sqlite3"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    result = subprocess.run(
        [sys.executable, "-m", "coldchain.cli", "--config", str(config), "gateway", "status"],
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "absent.sqlite3" in result.stderr


def test_only_the_gateway_process_changes_its_garbage_collector() -> None:
    """`Gateway.run` (the process of `coldchain gateway run`) freezes what its start made and
    widens the young generation (gateway/app.py `settle_collector`); a gateway embedded in
    another process (a test, a tool) leaves that process's collector as it was: gc.freeze
    is process-wide."""
    script = (
        "import gc\n"
        "from gateway.app import YOUNG_OBJECTS, settle_collector\n"
        "before = gc.get_threshold()\n"
        "assert gc.get_freeze_count() == 0\n"
        "settle_collector()\n"
        "after = gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()  # the modules and all\n"
        "assert after == (YOUNG_OBJECTS, *before[1:]), (before, after)\n"
        "print('settled')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    done = subprocess.run(
        [sys.executable, "-c", script], env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0 and "settled" in done.stdout, done.stderr
