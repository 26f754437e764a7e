"""A worker of `hazwatch run --partition K/N`: the same slots as a single worker, alarms only for its own.

The detector stack of a partition worker is built over the whole registry, so slots and event ids match a
single-worker run exactly; only the owned sensors get readings. The sensors of other partitions would look
silent to the dead-man rules, so their condition changes are dropped here, before the alarm lifecycle:
another worker raises those.
"""

from __future__ import annotations

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.stack import Lifecycle
from hazwatch.config.partition import PartitionSpec, owned_sensors, with_owned_devices
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig
from hazwatch.events import AlarmEvent


class OwnedConditions:
    """A Lifecycle in front of the real one that lets through only the conditions of owned slots."""

    def __init__(self, lifecycle: Lifecycle, owned: np.ndarray) -> None:
        self.lifecycle = lifecycle
        self.owned = owned

    def apply(self, changes: list[ConditionChange], now_ns: int) -> list[AlarmEvent]:
        mine = [change for change in changes if self.owned[change.slot]]
        return self.lifecycle.apply(mine, now_ns)

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        return self.lifecycle.tick(now_ns)


class Partition:
    """What partition `spec` of `config` owns: a mask over the registry's slots, and the devices it reads."""

    def __init__(self, config: HazwatchConfig, registry: SensorRegistry, spec: PartitionSpec) -> None:
        self.spec = spec
        owned = owned_sensors(config, spec)
        self.owned_sensors = owned
        """(site, sensor) pairs it owns: what a core worker subscribes to."""
        self.owned = np.array([(s.site, s.sensor) in owned for s in registry], dtype=bool)
        units = np.array([self.owned[u.members[0]] for u in registry.units], dtype=bool)
        self.owned_slots = np.concatenate([self.owned, units])
        """Every slot an alarm can be on: a group's unit slot goes with its members (a group is never split)."""
        self.source_config = with_owned_devices(config, owned)
        """The config its sources are built from: only the devices of owned sensors are polled or subscribed to."""

    @property
    def size(self) -> int:
        """How many sensors it owns."""
        return int(self.owned.sum())
