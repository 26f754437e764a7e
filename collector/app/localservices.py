"""Start a local `influxd` or `mosquitto` on a free loopback port with a throw-away data folder.

The demo uses these when the user gives no InfluxDB or broker, and the tests and benchmarks use
them so that every path runs against the real servers rather than mocks.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from collector.storage.query import InfluxQuery
from hazwatch.storage.schema import DATABASE


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float, name: str) -> None:
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


def _wait_for_http(url: str, status: int, process: subprocess.Popen, timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} during start-up")
        try:
            if httpx.get(url, timeout=0.5).status_code == status:
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
    """An influxd 1.x process; `stop()`/`start()` simulate an outage while keeping its data."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
[monitor]
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
        _wait_for_http(f"{self.url}/ping", 204, self.process, timeout, "influxd")


    def query(self, q: str, database: str = DATABASE, epoch: str = "ns") -> list[dict]:
        """Run InfluxQL and return the `series` of the first statement ([] when it matched nothing)."""
        with InfluxQuery(self.url, database, timeout=60) as reader:
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


@dataclass
class LocalMosquitto(LocalServer):

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (Debian package `mosquitto`)")
        config = self.data_dir / "mosquitto.conf"
        config.write_text(
            f"""listener {self.port} 127.0.0.1
allow_anonymous true
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
        _wait_for_port(self.port, self.process, timeout, "mosquitto")



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
