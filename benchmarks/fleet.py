"""A province-sized fleet synthesised from the example coal mine: the same sensor mix, many mines.

Every measurement needs N sensors configured like a real mine (the same kinds, locations and
therefore the same default limits and detector settings), so the example site is replicated
with new ids through the config model, and the mine preset of the simulator supplies realistic normal readings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.config.examples import MINE_EXAMPLE
from hazwatch.config.loader import load_config
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig, Site
from hazwatch.quality import Quality
from simulators.physics.presets import mine_preset

EXAMPLE_MINE = MINE_EXAMPLE
POLL_INTERVAL_NS = 2_000_000_000
"""The example's substations are polled every 2 s: one cycle of every sensor per 2 s of stream time."""
START_NS = 1_750_000_000_000_000_000


def template_site() -> Site:
    return load_config(EXAMPLE_MINE).sites[0]


def sensors_per_site() -> int:
    return sum(len(area.sensors) for area in template_site().areas)


def replicate(sites: int, template: Site | None = None) -> HazwatchConfig:
    """`sites` copies of the example mine, ids `mine-00000`…; copies share the template's sub-models."""
    base = load_config(EXAMPLE_MINE)
    site = template or base.sites[0]
    copies = [site.model_copy(update={"id": f"mine-{i:05d}", "name": f"Mine {i}"}) for i in range(sites)]
    return base.model_copy(update={"sites": copies})


@dataclass
class Fleet:
    config: HazwatchConfig
    registry: SensorRegistry
    cycles: np.ndarray
    """(k × sensors) realistic normal readings; the stream repeats them with fresh timestamps."""

    @property
    def sensors(self) -> int:
        return len(self.registry)

    def batch(self, cycle: int) -> ReadingBatch:
        """One poll cycle of every sensor, in slot order (what the sources hand the pipeline)."""
        n = self.sensors
        values = self.cycles[cycle % len(self.cycles)]
        time_ns = np.full(n, START_NS + cycle * POLL_INTERVAL_NS, dtype=np.int64)
        return ReadingBatch(self._slots, time_ns, values, self._good)

    def cycles_batch(self, first: int, count: int) -> ReadingBatch:
        """`count` consecutive poll cycles in one batch (a time-major grid), as a pipeline that fell behind
        or a gateway that buffers would hand over."""
        return ReadingBatch.concat([self.batch(first + k) for k in range(count)])

    def __post_init__(self) -> None:
        self._slots = np.arange(self.sensors, dtype=np.int32)
        self._good = np.full(self.sensors, Quality.GOOD, dtype=np.uint8)


def build_fleet(target_sensors: int, cycles: int = 16, seed: int = 7) -> Fleet:
    """About `target_sensors` sensors (whole mines of 48), with `cycles` poll cycles of normal readings."""
    template = template_site()
    per_site = sum(len(area.sensors) for area in template.areas)
    sites = max(1, math.floor(target_sensors / per_site + 0.5))
    config = replicate(sites, template)
    registry = SensorRegistry.from_config(config)
    model = mine_preset(template, seed=seed)
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(cycles):
        values, _ = model.sample(2.0 * k)
        tiled = np.tile(values, sites)
        # Mines differ a little; noise keeps every series moving (a flat series is a stuck sensor).
        wiggle = 1.0 + rng.normal(0.0, 0.002, tiled.shape)
        rows.append(np.where(tiled == np.round(tiled), tiled, tiled * wiggle))
    return Fleet(config, registry, np.vstack(rows))
