"""The supervisor's restarts (coldchain/supervisor.py): a crash loop backs off 1, 2, 4 s...;
a process that ran a while before dying starts again after 1 s, not after the loop's delay."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from coldchain import supervisor
from coldchain.supervisor import Service, Supervisor


def test_backoff_grows_in_a_crash_loop_and_starts_again_after_a_steady_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "STEADY_S", 0.5)
    # The same doubling, a tenth as long: 0.1, 0.2, 0.4 s.
    real = supervisor.backoff_s
    monkeypatch.setattr(supervisor, "backoff_s", lambda restarts: real(restarts) / 10)
    marker = tmp_path / "runs"
    # Dies at once on its first three starts, then lives 0.8 s (past STEADY_S) and dies.
    script = (
        f"n=$(cat {marker} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {marker}; "
        "if [ $n -ge 4 ]; then sleep 0.8; fi; exit 1"
    )
    service = Service("flaky", ["sh", "-c", script])
    watcher = Supervisor([service], tmp_path / "logs")
    delays: list[tuple[int, float]] = []
    original = watcher._spawn

    def spawn(s: Service) -> None:
        delays.append((s.restarts, s.next_start))
        original(s)

    monkeypatch.setattr(watcher, "_spawn", spawn)
    runner = threading.Thread(target=watcher.run, kwargs={"poll_s": 0.05}, daemon=True)
    runner.start()
    deadline = time.monotonic() + 20
    while len(delays) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.request_stop()
    runner.join(5)
    watcher.stop()
    restarts = [r for r, _ in delays]
    # Starts 1-4: the loop (0, 1, 2, 3 restarts: 0.1, 0.2, 0.4 s apart); the 5th start follows
    # a run of 0.8 s, longer than STEADY_S: counted from zero again (0.1 s), not 0.8 s.
    assert restarts[:5] == [0, 1, 2, 3, 1], restarts
