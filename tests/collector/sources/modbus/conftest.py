"""Fixtures for the Modbus source tests: the example mine on free ports, and models whose values a test controls."""

from __future__ import annotations

import numpy as np
import pytest

from collector.app.localservices import free_port
from hazwatch.config import HazwatchConfig, SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.schema import Backoff, ModbusDevice
from hazwatch.quality import Quality

POLL_INTERVAL = 0.2


class RandomSiteModel:
    """Fresh random values over each sensor's physical range on every sample; `faulty` sensors report FAULT."""

    def __init__(self, registry: SensorRegistry, site: str, seed: int = 7) -> None:
        infos = [s for s in registry if s.site == site]
        self.sensors = [s.sensor for s in infos]
        self._low = np.array([s.range_min for s in infos])
        self._high = np.array([s.range_max for s in infos])
        self._rng = np.random.default_rng(seed)
        self.faulty: set[str] = set()

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        values = self._rng.uniform(self._low, self._high)
        quality = np.array([Quality.FAULT if s in self.faulty else Quality.GOOD for s in self.sensors], dtype=np.uint8)
        return values, quality


def mine_on_free_ports(**device_updates) -> HazwatchConfig:
    """examples/coal-mine.yaml with every device moved to a free port and fast polling."""
    config = load_config(EXAMPLES / "coal-mine.yaml")
    site = config.sites[0]
    updates = {
        "poll_interval": POLL_INTERVAL,
        "timeout": 0.3,
        "retries": 0,
        "backoff": Backoff(initial=0.1, maximum=0.4),
        **device_updates,
    }
    devices = [
        d.model_copy(update={"port": free_port(), **updates}) if isinstance(d, ModbusDevice) else d
        for d in site.devices
    ]
    return config.model_copy(update={"sites": [site.model_copy(update={"devices": devices})]})


@pytest.fixture
def make_mine_config():
    """Factory: a fresh copy of the example mine on new free ports, with optional device settings."""
    return mine_on_free_ports


@pytest.fixture
def make_random_model():
    """Factory: RandomSiteModel(registry, site, seed=...)."""
    return RandomSiteModel


@pytest.fixture
def mine_config() -> HazwatchConfig:
    return mine_on_free_ports()



@pytest.fixture
def random_model(mine_config: HazwatchConfig, mine_registry: SensorRegistry) -> RandomSiteModel:
    return RandomSiteModel(mine_registry, mine_config.sites[0].id)
