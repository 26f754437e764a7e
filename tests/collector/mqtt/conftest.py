"""Fixtures for the MQTT source tests: the example plant, a real mosquitto, and a source running in the background."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mqtt_harness import RunningSource, wait_until

from collector.config import HazwatchConfig, SensorRegistry
from collector.localservices import LocalMosquitto, local_mosquitto
from collector.mqtt.source import MqttSource


@pytest.fixture(scope="session")
def plant_registry(plant_config: HazwatchConfig) -> SensorRegistry:
    return SensorRegistry.from_config(plant_config)


@pytest.fixture
def mosquitto() -> Iterator[LocalMosquitto]:
    with local_mosquitto() as broker:
        yield broker


@pytest.fixture
def run_source() -> Iterator[Callable[[MqttSource], RunningSource]]:
    running: list[RunningSource] = []

    def start(source: MqttSource) -> RunningSource:
        runner = RunningSource(source).start()
        running.append(runner)
        wait_until(lambda: runner.connected, 10, f"{source.name} to connect")
        return runner

    yield start
    for runner in running:
        if runner._thread.is_alive():
            runner.stop()
