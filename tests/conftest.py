"""Session fixtures shared across packages: the example configs, and one real demo run that several
specifications read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collector.app.localservices import LocalInfluxd, LocalMosquitto, local_influxd, local_mosquitto
from hazwatch.config import HazwatchConfig, SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from tests.support.receivers import ThreadedReceiver

DEMO_SECONDS = 60
DEMO_SECRET = "demo-test-secret"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def mine_config() -> HazwatchConfig:
    return load_config(EXAMPLES / "coal-mine.yaml")


@pytest.fixture(scope="session")
def plant_config() -> HazwatchConfig:
    return load_config(EXAMPLES / "chemical-plant.yaml")


@pytest.fixture
def mosquitto() -> Iterator[LocalMosquitto]:
    """A private, real mosquitto on a free port, stopped after the test."""
    with local_mosquitto() as broker:
        yield broker


@pytest.fixture
def mine_registry(mine_config: HazwatchConfig) -> SensorRegistry:
    return SensorRegistry.from_config(mine_config)


@pytest.fixture
def plant_registry(plant_config: HazwatchConfig) -> SensorRegistry:
    return SensorRegistry.from_config(plant_config)


@dataclass
class DemoRun:
    influxd: LocalInfluxd
    receiver: ThreadedReceiver
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def demo_run() -> Iterator[DemoRun]:
    """`hazwatch demo --duration 60 --influx-url URL --webhook-url URL`, as a user would run it."""
    receiver = ThreadedReceiver(DEMO_SECRET.encode())
    server = receiver.serve()
    with local_influxd() as influxd:
        env = {**os.environ, "HAZWATCH_WEBHOOK_SECRET": DEMO_SECRET}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "collector",
                "demo",
                "--duration",
                str(DEMO_SECONDS),
                "--influx-url",
                influxd.url,
                "--webhook-url",
                receiver.url,
                "--no-view",
            ],
            capture_output=True,
            text=True,
            timeout=DEMO_SECONDS + 90,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            check=False,
        )
        try:
            yield DemoRun(influxd, receiver, result.returncode, result.stdout, result.stderr)
        finally:
            server.shutdown()
