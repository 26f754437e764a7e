"""`hazwatch run` as a real child process, for fault tests that kill it (-9), stop it and restart it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from collector.app.localservices import free_port
from hazwatch.config.examples import PLANT_EXAMPLE
from tests.support.waiting import wait_until


def plant_config(
    path: Path, *, subscribers: list[dict] | None = None, interval: float = 0.5, one_gateway: bool = False
) -> Path:
    """The example plant with its devices publishing every `interval` s and the given webhook subscribers.

    `one_gateway` puts every sensor behind the DCS gateway, so that a round is one batch message of 33 readings
    instead of 25 messages: the form in which a plant's historian or OPC gateway forwards a whole unit, and the
    one that lets a broker saving after every change carry thousands of readings a second."""
    document = yaml.safe_load(PLANT_EXAMPLE.read_text())
    for site in document["sites"]:
        if one_gateway:
            gateway, *others = site["devices"]
            gateway["sensors"] += [sensor for device in others for sensor in device["sensors"]]
            site["devices"] = [gateway]
        for device in site["devices"]:
            device["expected_interval"] = interval
    document.setdefault("webhooks", {})["subscribers"] = subscribers or []
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class HazwatchProcess:
    config: Path
    state_dir: Path
    log_path: Path
    options: list[str] = field(default_factory=list)
    """More `hazwatch run` options, e.g. --influx-url, --mqtt-url, --api-port."""
    more_configs: list[Path] = field(default_factory=list)
    """Further site files run with `config` (settings come from `config`)."""
    env: dict[str, str] = field(default_factory=dict)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "collector", "run", str(self.config), *map(str, self.more_configs),
            "--state-dir", str(self.state_dir), "--metrics-port", str(self.metrics_port), *self.options,
        ]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes it until it ends
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}, cwd=Path(__file__).parents[2]
        )
        log.close()

    def metric(self, name: str) -> float:
        """Sum of a metric's samples from the child's own /metrics (0 while it is not up)."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return 0.0
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))

    def wait_subscribed(self, timeout: float = 30) -> None:
        wait_until(lambda: self.metric("hazwatch_mqtt_connected") >= 1, timeout, "hazwatch to subscribe")

    def kill(self) -> None:
        """kill -9: nothing is flushed, nothing is closed."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
