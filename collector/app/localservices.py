"""Start a local `influxd` or `mosquitto` on a free loopback port with a throw-away data folder.

The demo uses these when the user gives no InfluxDB or broker, and the tests and benchmarks use
them so that every path runs against the real servers rather than mocks. Both can be started with
TLS and authentication (`ServerTls`, a password file, `auth-enabled`), as a hardened site runs them.
"""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from collector.storage.query import InfluxQuery
from hazwatch.storage.schema import DATABASE

_HANDED_OUT: set[int] = set()
"""Ports this process has already handed out: a port is chosen well before its server binds it, and the kernel
may offer a just-released port again in the meantime."""


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports, none handed out before by this process (two services, or two
    devices, on one port would collide)."""
    chosen: list[int] = []
    with ExitStack() as held:
        while len(chosen) < count:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port not in _HANDED_OUT:
                chosen.append(port)
                _HANDED_OUT.add(port)
    return chosen


def free_port() -> int:
    return free_ports(1)[0]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{name} did not listen on 127.0.0.1:{port} within {timeout} s")


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate and key, and the CA its clients' certificates must be signed by."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _wait_for_http(
    url: str, status: int, process: subprocess.Popen, timeout: float, name: str, verify: object = True
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} during start-up")
        try:
            if httpx.get(url, timeout=0.5, verify=verify).status_code == status:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not answer {url} within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class LocalServer:
    """A server process on a loopback port with its own data folder; `stop()` keeps the data for a restart."""

    port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


@dataclass
class LocalInfluxd(LocalServer):
    """An influxd 1.x process; `stop()`/`start()` simulate an outage while keeping its data.

    With `admin` (user, password) it runs with `auth-enabled = true` and that admin user; with `tls`
    it serves HTTPS only."""

    admin: tuple[str, str] | None = field(default=None, repr=False)
    tls: ServerTls | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _client_options(self) -> dict:
        options: dict = {"verify": ssl.create_default_context(cafile=self.tls.ca_file) if self.tls else True}
        if self.admin:
            options["auth"] = httpx.BasicAuth(*self.admin)
        return options

    def _https(self) -> str:
        if self.tls is None:
            return ""
        return (
            f"  https-enabled = true\n"
            f'  https-certificate = "{self.tls.cert_file}"\n'
            f'  https-private-key = "{self.tls.key_file}"\n'
        )

    def _write_config(self) -> Path:
        config = self.data_dir / "influxdb.conf"
        config.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{self.data_dir / "meta"}"
  logging-enabled = false
[data]
  dir = "{self.data_dir / "data"}"
  wal-dir = "{self.data_dir / "wal"}"
  query-log-enabled = false
  trace-logging-enabled = false
[coordinator]
  log-queries-after = "0s"
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  max-body-size = 0
  auth-enabled = {"true" if self.admin else "false"}
{self._https()}[monitor]
  store-enabled = false
[continuous_queries]
  log-enabled = false
"""
        )
        return config

    def start(self, timeout: float = 30.0) -> None:
        binary = shutil.which("influxd")
        if binary is None:
            raise FileNotFoundError("influxd is not installed (Debian package `influxdb`)")
        self.process = subprocess.Popen(
            [binary, "-config", str(self._write_config())],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        verify = ssl.create_default_context(cafile=self.tls.ca_file) if self.tls else True
        _wait_for_http(f"{self.url}/ping", 204, self.process, timeout, "influxd", verify)
        if self.admin:
            self._create_admin()

    def _create_admin(self) -> None:
        """The first admin user may be created without credentials; once it exists, this is a no-op."""
        user, password = self.admin or ("", "")
        statement = f"CREATE USER \"{user}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
        response = httpx.post(f"{self.url}/query", data={"q": statement}, timeout=30, **self._client_options())
        response.raise_for_status()

    def query(self, q: str, database: str = DATABASE, epoch: str = "ns") -> list[dict]:
        """Run InfluxQL and return the `series` of the first statement ([] when it matched nothing)."""
        client = httpx.Client(timeout=60, **self._client_options())
        with InfluxQuery(self.url, database, client=client) as reader:
            return reader.series(q, epoch)


@contextmanager
def local_influxd(data_dir: Path | None = None) -> Iterator[LocalInfluxd]:
    with tempfile.TemporaryDirectory(prefix="hazwatch-influxd-") as tmp:
        server = LocalInfluxd(port=free_port(), data_dir=Path(data_dir or tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


BrokerSaving = Literal["change", "second", "default"]
_SAVING_CONFIG: dict[str, list[str]] = {
    "change": ["autosave_interval 1", "autosave_on_changes true"],
    "second": ["autosave_interval 1"],
    "default": [],
}


@dataclass
class LocalMosquitto(LocalServer):
    """A mosquitto 2 process. With `tls` it speaks only TLS and requires a client certificate signed by the
    CA; with `users` ({name: password}) it refuses anonymous clients and checks a password file."""

    tls: ServerTls | None = None
    users: dict[str, str] = field(default_factory=dict, repr=False)
    saves: BrokerSaving = "default"
    """When the broker writes its store to disk. "change": after every change, as docs/reliability.md and
    docs/security.md tell a site to, so a killed broker keeps what it acknowledged (each save rewrites the whole
    store, so a backlog slows it down); "second": once a second, a killed broker loses up to a second of what it
    took; "default": mosquitto's own, every 30 minutes."""

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def _security(self) -> str:
        lines = []
        if self.tls:
            lines += [
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.cert_file}",
                f"keyfile {self.tls.key_file}",
                "require_certificate true",
            ]
        if self.users:
            passwords = self.data_dir / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        lines += _SAVING_CONFIG[self.saves]
        return "\n".join(lines)

    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (Debian package `mosquitto`)")
        config = self.data_dir / "mosquitto.conf"
        config.write_text(
            f"""listener {self.port} 127.0.0.1
{self._security()}
user {getpass.getuser()}
persistence true
persistence_location {self.data_dir}/
max_queued_messages 1000000
max_inflight_messages 1000
log_dest none
"""
        )
        self.process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.process, timeout, "mosquitto")



@contextmanager
def local_mosquitto() -> Iterator[LocalMosquitto]:
    with tempfile.TemporaryDirectory(prefix="hazwatch-mosquitto-") as tmp:
        broker = LocalMosquitto(port=free_port(), data_dir=Path(tmp))
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


@dataclass
class LocalVictoriaMetrics(LocalServer):
    """A victoria-metrics process: a real server for the InfluxDB v2 write API (`/api/v2/write`)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        binary = shutil.which("victoria-metrics")
        if binary is None:
            raise FileNotFoundError("victoria-metrics is not installed (Debian package `victoria-metrics`)")
        self.process = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.data_dir}",
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_http(f"{self.url}/health", 200, self.process, timeout, "victoria-metrics")


    def export(self, metric: str) -> list[dict]:
        """Every series of `metric` as exported JSON lines ({"metric": labels, "values", "timestamps" in ms})."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=30).raise_for_status()
        response = httpx.get(f"{self.url}/api/v1/export", params={"match[]": metric}, timeout=60)
        response.raise_for_status()
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]


@contextmanager
def local_victoria_metrics() -> Iterator[LocalVictoriaMetrics]:
    with tempfile.TemporaryDirectory(prefix="hazwatch-vm-") as tmp:
        server = LocalVictoriaMetrics(port=free_port(), data_dir=Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()
