"""Fixtures for the MQTT source tests: a source running in the background."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from mqtt_harness import RunningSource

from collector.sources.mqtt.source import MqttSource
from tests.support.waiting import wait_until


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
