"""Shared by the detector specifications and by replay and scenario tests: the test clock and event filters."""

from __future__ import annotations

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent

SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND
LEAK_FROM_S = 60


def ammonia_leak_round(registry: SensorRegistry, t_s: int, rng: np.random.Generator) -> ReadingBatch:
    """The example plant at `t_s` s after T0: every sensor at 30 % of its range with a little noise, the west NH3
    head (LD-NH3-1) at 50 ppm from minute one, building a 15-minute STEL."""
    span = registry.range_max - registry.range_min
    values = registry.range_min + span * (0.3 + 0.01 * rng.standard_normal(len(registry)))
    leak = registry.slot("hengda-chem", "LD-NH3-1")
    if t_s >= LEAK_FROM_S:
        values[leak] = 50.0 + rng.standard_normal()
    return ReadingBatch.from_columns(np.arange(len(registry)), T0 + t_s * SECOND, values)


def of_rule(events: list[AlarmEvent], rule: str, slot: int | None = None) -> list[AlarmEvent]:
    return [e for e in events if e.rule == rule and (slot is None or e.slot == slot)]
