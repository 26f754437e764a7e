"""`hazwatch run` worker processes for the scaling tests: a config per worker, start, readiness, stop, kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from collector.app.localservices import LocalInfluxd, free_port
from hazwatch.config.examples import PLANT_EXAMPLE
from tests.support.waiting import wait_until

CLI = [sys.executable, "-c", "from collector.app.cli import main; main()"]


def unstamped_sensors(config_path: Path = PLANT_EXAMPLE) -> set[str]:
    """Sensors whose payloads carry no time (the tank PLC's plain numbers): hazwatch stamps them on receipt, so
    two processes stamp them differently, and one redelivered after a kill -9 is a second point (at-least-once)."""
    document = yaml.safe_load(Path(config_path).read_text())
    return {
        sensor
        for site in document["sites"]
        for device in site["devices"]
        if device.get("protocol") == "mqtt" and all(not t.get("time_path") for t in device.get("topics", []))
        for sensor in device.get("sensors", [])
    }


DEAD_MAN_RULES = {"health.offline", "health.device_offline", "health.long_offline"}
"""Dead-man alarms are raised by a worker's own clock tick, not by a reading: their time, and so their id,
differs between processes by the ticks' phase."""


def all_reporting_ns(influxd: LocalInfluxd, databases: list[str]) -> int:
    """When every sensor had its first reading stored by every worker. A dead-man alarm before that is a worker's
    start-up race against the simulator's first round (a worker that ticked earlier raises offline for a device
    that has not published yet, rightly), not something the partitioning or the edge did."""
    q = "SELECT first(value) FROM readings GROUP BY sensor"
    return max(s["values"][0][0] for db in databases for s in influxd.query(q, db))


def plant_config(tmp_path: Path, database: str, by: str = "device", **extra: object) -> Path:
    """The example plant, storing into `database`, without the example's webhook receivers (none run here)."""
    document = yaml.safe_load(PLANT_EXAMPLE.read_text(encoding="utf-8"))
    document["influxdb"] = {"database": database}
    document["webhooks"] = {"subscribers": []}
    document["partitioning"] = {"by": by}
    document.update(extra)
    path = tmp_path / f"{database}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def plant_scenario(tmp_path: Path, events: list[dict], duration_s: float = 600.0) -> Path:
    scenario = {
        "name": "scaling-test",
        "title": "alarms on every device of the plant, a few seconds in",
        "site": "plant",
        "config": str(PLANT_EXAMPLE),
        "seed": 7,
        "duration_s": duration_s,
        "events": events,
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return path


@dataclass
class Worker:
    name: str
    args: list[str]
    log_path: Path
    metrics_port: int
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    """Added to this process's environment."""

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen([*CLI, *self.args], stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def probe(self, path: str) -> int:
        try:
            return httpx.get(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=2).status_code
        except httpx.HTTPError:
            return 0

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log()
            return self.probe("/readyz") == 200

        wait_until(ready, timeout, f"{self.name} ready")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a supervisor stops it: every sink flushes before it exits."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name} did not stop on SIGTERM:\n{self.log()}") from None

    def kill(self) -> None:
        """kill -9: no flush, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def worker(
    tmp_path: Path, name: str, config: Path, mqtt_url: str, influx_url: str, *extra: str
) -> Worker:
    port = free_port()
    state = tmp_path / f"state-{name}"
    args = [
        "run", str(config), "--mqtt-url", mqtt_url, "--influx-url", influx_url, "--state-dir", str(state),
        "--metrics-port", str(port), *extra,
    ]
    return Worker(name, args, tmp_path / f"{name}.log", port)


def start_plant(scenario: Path, mqtt_url: str, duration_s: float, interval_s: float = 0.5) -> subprocess.Popen:
    """`hazwatch simulate plant` with the scenario, in the background (stop it early with `terminate()`); what it
    prints goes to `plant_log(scenario)`, never to a pipe nobody reads (a full pipe would stall the plant)."""
    with plant_log(scenario).open("ab") as log:
        return subprocess.Popen(
            [
                *CLI, "simulate", "plant", str(PLANT_EXAMPLE), "--mqtt-url", mqtt_url, "--scenario", str(scenario),
                "--interval", str(interval_s), "--duration", str(duration_s),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def plant_log(scenario: Path) -> Path:
    return scenario.with_suffix(".log")


def simulate_plant(scenario: Path, mqtt_url: str, duration_s: float, interval_s: float = 0.5) -> None:
    plant = start_plant(scenario, mqtt_url, duration_s, interval_s)
    try:
        returncode = plant.wait(timeout=duration_s + 60)
    finally:
        if plant.poll() is None:
            plant.kill()
            plant.wait()
    assert returncode == 0, plant_log(scenario).read_text(errors="replace")[-4000:]
