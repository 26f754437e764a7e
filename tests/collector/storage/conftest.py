"""Fixtures for the storage sink tests: the two example sites' sensors and a real influxd per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.app.localservices import LocalInfluxd, local_influxd
from hazwatch.config import SensorRegistry, load_configs
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.schema import InfluxSettings


@pytest.fixture(scope="session")
def registry() -> SensorRegistry:
    """Every sensor of the example mine (Modbus) and plant (MQTT): 81 sensors of many kinds."""
    config = load_configs([EXAMPLES / "coal-mine.yaml", EXAMPLES / "chemical-plant.yaml"])
    return SensorRegistry.from_config(config)


@pytest.fixture(scope="module")
def influxd() -> Iterator[LocalInfluxd]:
    with local_influxd() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, influxd: LocalInfluxd, request: pytest.FixtureRequest) -> InfluxSettings:
    """A database of its own per test, so counts never mix between tests."""
    return InfluxSettings(
        url=influxd.url,
        database=f"hw_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"[:60],
        batch_size=1000,
        flush_interval=0.1,
        spool_dir=str(tmp_path / "spool"),
    )
