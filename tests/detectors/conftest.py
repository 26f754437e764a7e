"""Fixtures for detector tests: the example sites' real stacks (real lifecycle), and a feeder of readings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.engine.stack import DetectorStack
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.events import AlarmEvent
from hazwatch.quality import Quality
from tests.support.detectors import SECOND, T0


@dataclass
class Site:
    """A real stack over an example config, fed one poll cycle at a time with every other sensor normal."""

    config: HazwatchConfig
    registry: SensorRegistry
    stack: DetectorStack
    lifecycle: AlarmLifecycle
    normal: np.ndarray
    site: str

    def slot(self, sensor: str) -> int:
        slot = self.registry.slot(self.site, sensor)
        assert slot is not None, sensor
        return slot

    def cycle(
        self, t_s: float, values: dict[str, float], quality: dict[str, Quality] | None = None
    ) -> list[AlarmEvent]:
        """One reading of every sensor at t_s: `values` override the normal value of some sensors."""
        v = self.normal.copy()
        q = np.zeros(len(v), dtype=np.uint8)
        for sensor, value in values.items():
            v[self.slot(sensor)] = value
        for sensor, code in (quality or {}).items():
            q[self.slot(sensor)] = code
        return self.stack.update(ReadingBatch.from_columns(np.arange(len(v)), T0 + int(t_s * SECOND), v, q))

    def cycles(
        self, start_s: float, steps: int, period_s: float, series: dict[str, np.ndarray], noise: float = 0.0
    ) -> list[AlarmEvent]:
        """`steps` poll cycles in one batch; `series` gives some sensors' readings per step; others stay normal
        (with relative noise, so nothing looks stuck)."""
        n = len(self.normal)
        rng = np.random.default_rng(int(start_s))
        values = np.tile(self.normal, (steps, 1))
        values *= 1 + noise * rng.standard_normal(values.shape)
        for sensor, readings in series.items():
            values[:, self.slot(sensor)] = readings
        times = T0 + ((start_s + np.arange(steps) * period_s) * SECOND).astype(np.int64)
        batch = ReadingBatch.from_columns(np.tile(np.arange(n), steps), np.repeat(times, n), values.ravel())
        return self.stack.update(batch)


def normal_values(registry: SensorRegistry) -> np.ndarray:
    """Quiet, plausible readings: 2 % of range, fresh air for O2, mid-range for air velocity."""
    span = registry.range_max - registry.range_min
    values = registry.range_min + 0.02 * span
    for s in registry:
        if s.kind.value == "O2":
            values[s.slot] = 20.9
        elif s.kind.value == "air_velocity":
            values[s.slot] = 2.0
        elif s.kind.value == "temperature":
            values[s.slot] = 20.0
        elif s.kind.value in ("fan_state", "feed_state"):
            values[s.slot] = 1.0
    return values


def _site(name: str) -> Site:
    config = load_config(EXAMPLES / name)
    registry = SensorRegistry.from_config(config)
    lifecycle = AlarmLifecycle()
    stack = build_detector_stack(registry, config, lifecycle)
    return Site(config, registry, stack, lifecycle, normal_values(registry), config.sites[0].id)


@pytest.fixture
def mine() -> Site:
    return _site("coal-mine.yaml")


@pytest.fixture
def plant() -> Site:
    return _site("chemical-plant.yaml")


def noisy(rng: np.random.Generator, sigma: float) -> Callable[[float], float]:
    return lambda value: value + float(rng.normal(0, sigma))

