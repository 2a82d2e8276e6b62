"""Soak: the whole system with many simulated probes, its memory and CPU per process over time.

    .venv/bin/python bench/soak.py [--probes 1000] [--minutes 30] [--speed 20]

`coldchain up` (managed Mosquitto, gateway on the embedded SQLite store, alert worker, server)
in a temporary folder on free loopback ports. A cooperative with one cold room per 10 probes,
every probe registered and installed through the API as an admin would, each with its broker
account. Then each probe sends one message every 30 s of device time (its air and product
readings), the device clock running `--speed` times faster than real time (the system's
accelerated clock, coldchain/clock.py, the demo's), values moving a little every 10 device
minutes as a real room's do (a flat line is a stuck sensor). One probe in 50 goes out of
limits for 25 device minutes every device hour, so alerts open and close and the worker keeps
episodes.

Every real minute it prints each process's proportional set size (PSS, from
/proc/PID/smaps_rollup: shared pages divided among their users) and its CPU use over that
minute; at the end, the slope of each process's PSS after the warm-up (the first fifth of the
run), in MB per hour of real time and per day of device time. Targets at 1,000 probes
(issue 18): the whole stack < 400 MB PSS and < 1 core, memory slope about 0 after warm-up.
The publisher runs in separate processes; its CPU is shown apart (it is not the system).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coldchain import broker  # noqa: E402
from coldchain.demo.day import WOBBLE  # noqa: E402
from coldchain.demo.seed import Api  # noqa: E402
from coldchain.supervisor import port_open  # noqa: E402
from tests.harness.servers import free_port  # noqa: E402

INTERVAL_S = 30  # device seconds between two messages of a probe
TICKS = os.sysconf("SC_CLK_TCK")
ADMIN = "soak@coldchain.local"


def probe_id(i: int) -> str:
    return f"soak-{i:04d}"


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> dict[str, int]:
    """The processes `coldchain up` started, by role."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid != pid:
            continue
        for role, marker in (
            ("broker", "mosquitto"),
            ("gateway", "gateway run"),
            ("alert-worker", "alert-worker"),
            ("server", "server run"),
        ):
            if marker in command:
                found[role] = int(entry.name)
    return found


def publisher(
    first: int,
    count: int,
    port: int,
    passwords: dict[str, str],
    speed: float,
    meets_real_at: float,
    stop_at: float,
) -> None:
    """One publisher process: `count` probes, each its own MQTT connection and account."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from coldchain.protocol import Kind, Reading, ReadingsBatch, encode_readings, topic

    def device_now() -> float:
        now = time.time()
        return now if now >= meets_real_at else meets_real_at - (meets_real_at - now) * speed

    clients = []
    for i in range(first, first + count):
        pid = probe_id(i)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=pid, protocol=MQTTProtocolVersion.MQTTv311
        )
        client.username_pw_set(pid, passwords[pid])
        client.connect("127.0.0.1", port, keepalive=60)
        client.loop_start()
        clients.append((i, pid, client))
    seq = 0
    next_device = math.ceil(device_now() / INTERVAL_S) * INTERVAL_S
    while time.time() < stop_at:
        left = (next_device - device_now()) / speed
        if left > 0:
            time.sleep(min(left, 1.0))
            continue
        t_ms = int(next_device * 1000)
        hour = (next_device / 3600) % 1
        for i, pid, client in clients:
            # A real cold room always moves a little (the demo's WOBBLE, coldchain/demo/day.py):
            # a flat line is a stuck sensor after 3 h (alerts/config.py `stuck_ms`), and a soak
            # of flat lines raised a sensor fault on every channel at 3 device hours.
            step = int(next_device // 600) + i  # a new wobble every 10 device minutes
            value = round(3.0 + (i % 7) / 10 + WOBBLE[step % len(WOBBLE)], 2)
            if i % 50 == 0 and hour < 25 / 60:
                value = 9.5  # out of limits 25 device minutes every device hour
            batch = ReadingsBatch(
                pid,
                "soak-1.0",
                (
                    Reading(pid, "air", t_ms, 2 * seq, value + 0.5),
                    Reading(pid, "product", t_ms, 2 * seq + 1, value),
                ),
            )
            client.publish(topic(pid, Kind.READINGS), encode_readings(batch), qos=1)
        seq += 1
        next_device += INTERVAL_S
    for _, _, client in clients:
        client.disconnect()
        client.loop_stop()


def seed(url: str, password: str, probes: int, start: datetime) -> None:
    root = Api(url).login(ADMIN, password)
    coop = root.call("POST", "/api/v1/organisations", {"name": "Coop soak", "kind": "cooperative"})
    admin_password = broker.new_password()
    root.call(
        "POST",
        "/api/v1/users",
        {
            "email": "admin@soak.local",
            "full_name": "Admin soak",
            "password": admin_password,
            "memberships": [{"organisation_id": coop["id"], "role": "admin"}],
        },
    )
    admin = root.login("admin@soak.local", admin_password)
    rooms = []
    for r in range(math.ceil(probes / 10)):
        body = {
            "name": f"Chambre {r + 1}",
            "owner_id": coop["id"],
            "category": "fresh_meat_ungulates",
        }
        rooms.append(admin.call("POST", "/api/v1/cold-rooms", body)["id"])
    for i in range(probes):
        made = admin.call(
            "POST", "/api/v1/probes", {"probe_id": probe_id(i), "owner_id": coop["id"]}
        )
        body = {"cold_room_id": rooms[i // 10], "start": start.isoformat().replace("+00:00", "Z")}
        admin.call("POST", f"/api/v1/probes/{made['id']}/installations", body)


def slope_mb_per_h(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return cov / var * 3600


def _counts(folder: Path) -> tuple[int, int]:
    """Readings in the store and alerts the worker opened (read-only, beside the live system)."""
    with sqlite3.connect(f"file:{folder / 'readings.sqlite3'}?mode=ro", uri=True) as db:
        (stored,) = db.execute("SELECT COUNT(*) FROM reading").fetchone()
    with sqlite3.connect(f"file:{folder / 'coldchain.sqlite3'}?mode=ro", uri=True) as db:
        (alerts,) = db.execute("SELECT COUNT(*) FROM alert").fetchone()
    return int(stored), int(alerts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=30.0, help="real minutes of soak")
    parser.add_argument("--speed", type=float, default=20.0, help="device time acceleration")
    parser.add_argument("--publishers", type=int, default=4, help="publisher processes")
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="coldchain-soak-"))
    launch = time.time()
    duration_s = args.minutes * 60
    setup_s = 120.0 + args.probes * 0.1  # registration through the API takes a while
    meets = launch + setup_s + duration_s + 60
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    mqtt_port, server_port = free_port(), free_port()
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "COLDCHAIN_MODE": "development",  # the accelerated clock is refused in production
            "COLDCHAIN_DATA_DIR": str(folder),
            "COLDCHAIN_SERVER__DATABASE_URL": f"sqlite:///{folder / 'coldchain.sqlite3'}",
            "COLDCHAIN_SERVER__PORT": str(server_port),
            "COLDCHAIN_MQTT__PORT": str(mqtt_port),
            "COLDCHAIN_STORE__KIND": "sqlite",
            "COLDCHAIN_STORE__SQLITE_PATH": str(folder / "readings.sqlite3"),
            "COLDCHAIN_GATEWAY__SPOOL_PATH": str(folder / "gateway-spool.sqlite3"),
            "COLDCHAIN_GATEWAY__METRICS_PORT": str(free_port()),
            "COLDCHAIN_CLOCK__SPEED": str(args.speed),
            "COLDCHAIN_CLOCK__MEETS_REAL_AT": str(meets),
        }
    )
    cli = [sys.executable, "-m", "coldchain.cli"]
    password = broker.new_password()
    subprocess.run(
        [*cli, "server", "create-admin", ADMIN, "--password-stdin"],
        input=password + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    up = subprocess.Popen(
        [*cli, "up"],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "up.err").open("wb"),
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        while not port_open(server_port)():
            if up.poll() is not None or time.time() > deadline:
                print(f"coldchain up did not start: {(folder / 'up.err').read_text()[-2000:]}")
                return 1
            time.sleep(0.5)
        device_start = meets - (meets - time.time()) * args.speed
        print(
            f"soak: {args.probes} probes, {args.minutes:g} min at {args.speed:g}x "
            f"({args.probes * 2 / INTERVAL_S * args.speed:.0f} readings/s), folder {folder}"
        )
        t = time.time()
        seed(
            f"http://127.0.0.1:{server_port}",
            password,
            args.probes,
            datetime.fromtimestamp(device_start, UTC),
        )
        files = broker.BrokerFiles(folder / "broker")
        passwords = {probe_id(i): broker.new_password() for i in range(args.probes)}
        for pid, secret in passwords.items():
            broker.set_password(files, pid, secret)
        broker.reload(files)
        print(f"setup: registered and installed in {time.time() - t:.0f} s")
        stop_at = time.time() + duration_s
        share = math.ceil(args.probes / args.publishers)
        workers = [
            multiprocessing.Process(
                target=publisher,
                args=(
                    first,
                    min(share, args.probes - first),
                    mqtt_port,
                    passwords,
                    args.speed,
                    meets,
                    stop_at,
                ),
            )
            for first in range(0, args.probes, share)
        ]
        for w in workers:
            w.start()
        roles = children(up.pid)
        history: dict[str, list[tuple[float, float]]] = {role: [] for role in roles}
        last_cpu = {role: cpu_s(child) for role, child in roles.items()}
        last_pub = sum(cpu_s(w.pid or 0) for w in workers)
        began = last_t = time.time()
        print(
            f"{'min':>5} "
            + " ".join(f"{r + ' MB':>16} {'%CPU':>5}" for r in roles)
            + f" {'total MB':>9} {'%CPU':>5} {'publisher %CPU':>15}"
        )
        while time.time() < stop_at:
            time.sleep(min(args.sample_s, max(0.0, stop_at - time.time())))
            now = time.time()
            row, total_mb, total_cpu = [], 0.0, 0.0
            for role, child in roles.items():
                mb = pss_kb(child) / 1024
                used = cpu_s(child)
                share_cpu = (used - last_cpu[role]) / (now - last_t) * 100
                last_cpu[role] = used
                history[role].append((now - began, mb))
                total_mb += mb
                total_cpu += share_cpu
                row.append(f"{mb:16.1f} {share_cpu:5.0f}")
            pub = sum(cpu_s(w.pid or 0) for w in workers)
            pub_share = (pub - last_pub) / (now - last_t) * 100
            last_pub, last_t = pub, now
            print(
                f"{(now - began) / 60:5.1f} "
                + " ".join(row)
                + f" {total_mb:9.1f} {total_cpu:5.0f} {pub_share:15.0f}",
                flush=True,
            )
        for w in workers:
            w.join(30)
        print("\nslope after warm-up (first fifth left out):")
        summary = {}
        for role, samples in history.items():
            warm = samples[len(samples) // 5 :]
            per_h = slope_mb_per_h(warm)
            per_device_day = per_h / args.speed * 24
            summary[role] = {
                "last_mb": round(samples[-1][1], 1) if samples else None,
                "mb_per_h": round(per_h, 2),
                "mb_per_device_day": round(per_device_day, 2),
            }
            print(
                f"  {role:13} {per_h:+8.2f} MB/h real  {per_device_day:+8.2f} MB per device day"
                f"  (last {summary[role]['last_mb']} MB)"
            )
        time.sleep(5)  # the last messages reach the store and the worker
        stored, alerts = _counts(folder)
        print(f"readings stored: {stored}, alerts opened: {alerts}")
        print(
            json.dumps(
                {
                    "probes": args.probes,
                    "speed": args.speed,
                    "minutes": args.minutes,
                    "readings": stored,
                    "alerts": alerts,
                    "processes": summary,
                }
            )
        )
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
