"""What every rule's `build` reads: the deployment's sensors and site config, and how messages name a sensor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TypeVar, overload

from pydantic import BaseModel

from hazwatch.config.registry import SensorInfo, SensorRegistry
from hazwatch.config.schema import HazwatchConfig

Settings = TypeVar("Settings", bound=BaseModel)


class SensorText(Sequence[str]):
    """A text per sensor (its label, its unit), made from the registry when a message needs it: a string per
    sensor held by every rule cost ~130 bytes/sensor at province scale (docs/performance.md)."""

    def __init__(self, registry: SensorRegistry, text: Callable[[SensorInfo], str]) -> None:
        self.registry = registry
        self.text = text

    def __len__(self) -> int:
        return len(self.registry)

    @overload
    def __getitem__(self, slot: int) -> str: ...

    @overload
    def __getitem__(self, slot: slice) -> list[str]: ...

    def __getitem__(self, slot: int | slice) -> str | list[str]:
        if isinstance(slot, slice):
            return [self[i] for i in range(len(self))[slot]]
        return self.text(self.registry.sensors[slot])


def sensor_label(info: SensorInfo) -> str:
    """How messages name a sensor: 'CH4 at LW-CH4-T1'."""
    return f"{info.kind.value} at {info.sensor}"


def sensor_unit(info: SensorInfo) -> str:
    return info.unit


def labels_of(registry: SensorRegistry) -> SensorText:
    """Module-level text functions, not lambdas, so a detector stack can be pickled into a restart snapshot
    (collector/pipeline/snapshot.py)."""
    return SensorText(registry, sensor_label)


def units_of(registry: SensorRegistry) -> SensorText:
    return SensorText(registry, sensor_unit)


class Setup:
    """One deployment as the rules' `build` functions see it."""

    def __init__(self, registry: SensorRegistry, config: HazwatchConfig) -> None:
        self.registry = registry
        self.config = config

    @cached_property
    def labels(self) -> SensorText:
        return labels_of(self.registry)

    @cached_property
    def units(self) -> SensorText:
        return units_of(self.registry)

    def rule_settings(self, info: SensorInfo, rule: str, model: type[Settings]) -> Settings | None:
        """A sensor's settings block for a rule that declares its own (`detect.rules.<rule>`), or None when absent.

        The catalog has validated every block before any rule is built, so this cannot fail here.
        """
        block = info.detect.rules.get(rule)
        return None if block is None else model.model_validate(block)
