"""The sensor registry: every configured sensor gets a slot, the integer index used by batches and detectors.

The registry is columnar: one numpy array per fact (slot → code or number) and small tables of the distinct
values the codes point at, never one Python object per sensor. At province scale (600 k sensors) a
`SensorInfo` per sensor cost ~280 B each; the columns cost ~100 B (docs/performance.md). A `SensorInfo` is
made on demand when code asks for one sensor (`registry.sensors[slot]`) or walks them (`for s in registry`):
set-up code and notifiers, never the per-reading path.

Every sensor group (detection `groups`: a unit model, a 2oo3 vote, ...) gets a slot too, after all the
sensors: the slot its own alarm is on, so the alarm is shown under the group's id, name and area, and a
member's own health alarms neither withdraw it nor are read as it. Such a *unit slot* never receives
readings: `len(registry)`, iteration, the per-slot columns and `slots_of_site()` cover the sensors only (what
sources and per-sensor rules use), while `sensors[slot]` and `slot(site, id)` know every slot an alarm can be
on, unit slots included. Groups are few, so their slots are kept as `SensorInfo`s.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, NamedTuple, TypeVar, overload

import numpy as np
from pydantic import BaseModel

from hazwatch.config.defaults import default_limits
from hazwatch.config.detection import DetectionSettings, MultivariateGroup, VoteGroup
from hazwatch.config.kinds import (
    DEFAULT_RANGE,
    DEFAULT_UNIT,
    GAS_KINDS,
    AreaKind,
    Location,
    SensorKind,
    SiteType,
)
from hazwatch.config.limits import Limits
from hazwatch.config.schema import HazwatchConfig, ModbusDevice

DEFAULT_POLL_INTERVAL_S = 10.0
"""The reading interval promised for a sensor no device of the config reads (docs/config.md): the offline
dead-man fires after `offline_after_intervals` of these. Replay derives it from the recording instead."""


class SensorInfo(NamedTuple):
    """One sensor's facts. A named tuple, not a dataclass: registries make these on demand, and a tuple is
    made several times faster than a frozen dataclass (set-up walks every sensor a few times)."""

    slot: int
    site: str
    site_type: SiteType
    area: str
    area_kind: AreaKind
    sensor: str
    name: str
    kind: SensorKind
    unit: str
    range_min: float
    range_max: float
    location: Location | None
    critical: bool
    limits: Limits
    detect: DetectionSettings
    device: str | None
    poll_interval: float
    """Seconds between readings the sensor's device promises: drives the offline dead-man."""
    members: tuple[int, ...] = ()
    """For a unit slot, its group's member sensors' slots (first member first); empty for a sensor."""

    @property
    def key(self) -> str:
        return f"{self.site}/{self.sensor}"


T = TypeVar("T")


class _Table(Generic[T]):
    """Distinct values of one column and a code per slot. Hashable values (strings, enums, tuples) are shared
    by equality, the config's models (limits, detection settings) by identity: hashing a model is slow or
    refused, and sub-models a config shares still cost one entry however many sensors use them."""

    def __init__(self) -> None:
        self.values: list[T] = []
        self._code: dict[object, int] = {}
        self.codes = array("i")

    def add(self, value: T) -> None:
        key: object = id(value) if isinstance(value, BaseModel) else value
        code = self._code.get(key)
        if code is None:
            code = self._code[key] = len(self.values)
            self.values.append(value)
        self.codes.append(code)

    def column(self) -> np.ndarray:
        return np.frombuffer(self.codes, dtype=np.int32).copy()


class _Sensors(Sequence[SensorInfo]):
    """`registry.sensors`: every slot's facts in slot order (the sensors', then the groups'), each made when
    asked for."""

    def __init__(self, registry: SensorRegistry) -> None:
        self._registry = registry

    def __len__(self) -> int:
        return len(self._registry) + len(self._registry.units)

    @overload
    def __getitem__(self, index: int) -> SensorInfo: ...

    @overload
    def __getitem__(self, index: slice) -> list[SensorInfo]: ...

    def __getitem__(self, index: int | slice) -> SensorInfo | list[SensorInfo]:
        if isinstance(index, slice):
            return [self._registry.info(i) for i in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError(f"slot {index} out of range (0..{len(self) - 1})")
        return self._registry.info(index % len(self))

    def __iter__(self) -> Iterator[SensorInfo]:
        yield from self._registry
        yield from self._registry.units


_ITER_CHUNK = 4096
"""Sensors made per step of a walk over the registry: the columns are turned into Python lists a chunk at a
time (fast, and the short-lived lists are reused rather than left as a peak of freed memory)."""


class SensorRegistry:
    """All sensors of a deployment, in slot order, as columns."""

    range_min: np.ndarray
    range_max: np.ndarray
    poll_interval: np.ndarray
    """Per slot, float64: the columns detectors read for a whole batch at once."""

    def __init__(self, sensors: Iterable[SensorInfo], units: Sequence[SensorInfo] = ()) -> None:
        """`units`: the groups' own slots, numbered on from the last sensor's."""
        sites: _Table[tuple[str, SiteType]] = _Table()
        areas: _Table[tuple[str, AreaKind]] = _Table()
        kinds: _Table[tuple[SensorKind, str, Location | None]] = _Table()
        limits: _Table[Limits] = _Table()
        detect: _Table[DetectionSettings] = _Table()
        devices: _Table[str | None] = _Table()
        ids: list[str] = []
        names: list[str | None] = []
        numbers = array("d")  # range_min, range_max, poll_interval: raw doubles, no float object per sensor
        critical = array("b")
        for slot, s in enumerate(sensors):
            if s.slot != slot:
                raise ValueError(f"sensor {s.key} has slot {s.slot}, expected {slot}: slots are dense, in order")
            sites.add((s.site, s.site_type))
            areas.add((s.area, s.area_kind))
            kinds.add((s.kind, s.unit, s.location))
            limits.add(s.limits)
            detect.add(s.detect)
            devices.add(s.device)
            ids.append(s.sensor)
            names.append(None if s.name == s.sensor else s.name)
            numbers.extend((s.range_min, s.range_max, s.poll_interval))
            critical.append(s.critical)
        self._sites, self._site = sites.values, sites.column()
        self._areas, self._area = areas.values, areas.column()
        self._kinds, self._kind = kinds.values, kinds.column()
        self._limits, self._limit = limits.values, limits.column()
        self._detects, self._detect = detect.values, detect.column()
        self._devices, self._device = devices.values, devices.column()
        self._ids = ids
        self._names: list[str | None] | None = names if any(n is not None for n in names) else None
        table = np.frombuffer(numbers, dtype=np.float64).reshape(len(ids), 3)
        self.range_min = table[:, 0].copy()
        self.range_max = table[:, 1].copy()
        self.poll_interval = table[:, 2].copy()
        self.critical = np.frombuffer(critical, dtype=np.int8).astype(bool)
        # site → (sensor id → index within the site, the site's slots): a small dict per site whose values are
        # small shared ints, instead of a slot int object and a (site, sensor) key per sensor
        self._by_site: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        order = np.argsort(self._site, kind="stable")
        bounds = np.flatnonzero(np.diff(self._site[order])) + 1
        for slots in np.split(order, bounds) if len(order) else []:
            local = {ids[slot]: i for i, slot in enumerate(slots.tolist())}
            self._by_site[self._sites[self._site[slots[0]]][0]] = (local, slots.astype(np.int32))
        self._set_units(list(units))

    def _set_units(self, units: list[SensorInfo]) -> None:
        for offset, unit in enumerate(units):
            if unit.slot != len(self) + offset:
                raise ValueError(f"group {unit.key} has slot {unit.slot}, expected {len(self) + offset}")
        self.units = units
        """The groups' own slots, in config order."""
        self._unit_by_site: dict[str, dict[str, int]] = {}
        for unit in units:
            self._unit_by_site.setdefault(unit.site, {})[unit.sensor] = unit.slot

    @classmethod
    def from_config(cls, config: HazwatchConfig) -> SensorRegistry:
        registry = cls(_sensors_of(config))
        registry._set_units(_unit_slots(config, registry))
        return registry

    def info(self, slot: int) -> SensorInfo:
        """One slot's facts: a sensor's made from the columns, a group's as kept."""
        if slot >= len(self):
            return self.units[slot - len(self)]
        return next(self.infos(slot, slot + 1))

    def infos(self, start: int, stop: int) -> Iterator[SensorInfo]:
        """The sensors of slots start..stop-1, made from the columns a chunk at a time."""
        names = self._names[start:stop] if self._names is not None else [None] * (stop - start)
        columns = zip(
            range(start, stop),
            [self._sites[c] for c in self._site[start:stop].tolist()],
            [self._areas[c] for c in self._area[start:stop].tolist()],
            self._ids[start:stop],
            names,
            [self._kinds[c] for c in self._kind[start:stop].tolist()],
            self.range_min[start:stop].tolist(),
            self.range_max[start:stop].tolist(),
            self.critical[start:stop].tolist(),
            [self._limits[c] for c in self._limit[start:stop].tolist()],
            [self._detects[c] for c in self._detect[start:stop].tolist()],
            [self._devices[c] for c in self._device[start:stop].tolist()],
            self.poll_interval[start:stop].tolist(),
            strict=True,
        )
        for slot, site, area, sensor, name, kind, low, high, critical, limits, detect, device, interval in columns:
            yield SensorInfo(
                slot, site[0], site[1], area[0], area[1], sensor, sensor if name is None else name, kind[0], kind[1],
                low, high, kind[2], critical, limits, detect, device, interval,
            )  # fmt: skip

    @property
    def sensors(self) -> Sequence[SensorInfo]:
        return _Sensors(self)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[SensorInfo]:
        """The sensors (not the unit slots: they never get readings)."""
        for start in range(0, len(self), _ITER_CHUNK):
            yield from self.infos(start, min(len(self), start + _ITER_CHUNK))

    def with_poll_intervals(self, intervals: dict[int, float]) -> SensorRegistry:
        """The same sensors, those without a device promising the given intervals (slot → seconds)."""
        other = object.__new__(SensorRegistry)
        other.__dict__.update(self.__dict__)
        other.poll_interval = self.poll_interval.copy()
        no_device = self._devices.index(None) if None in self._devices else -1
        for slot, seconds in intervals.items():
            if 0 <= slot < len(self) and self._device[slot] == no_device:
                other.poll_interval[slot] = seconds
        return other

    def slot(self, site: str, sensor: str) -> int | None:
        """The slot of a sensor, or of a group's own alarm by the group's id (`GroupIdentity.unit_id`): the loader
        refuses a group id that is also a sensor's, so the two never collide."""
        found = self._by_site.get(site)
        index = None if found is None else found[0].get(sensor)
        if index is None:
            return self._unit_by_site.get(site, {}).get(sensor)
        return int(found[1][index])

    def slots_of_site(self, site: str) -> dict[str, int]:
        """Sensor id → slot for one site: what a source uses to resolve its mapping once at start-up."""
        found = self._by_site.get(site)
        if found is None:
            return {}
        slots = found[1].tolist()
        return {sensor: slots[index] for sensor, index in found[0].items()}


def _sensors_of(config: HazwatchConfig) -> Iterator[SensorInfo]:
    """Every configured sensor, one at a time (the registry keeps columns, not these)."""
    slot = 0
    for site in config.sites:
        device_of: dict[str, tuple[str, float]] = {}
        for device in site.devices:
            if isinstance(device, ModbusDevice):
                for reg in device.registers:
                    device_of[reg.sensor] = (device.id, device.poll_interval)
                continue
            named = [t.sensor for t in device.topics if t.sensor]
            for sensor_id in [*device.sensors, *named, *device.sparkplug_sensors]:
                device_of[sensor_id] = (device.id, device.expected_interval)
        for area in site.areas:
            for s in area.sensors:
                device_id, interval = device_of.get(s.id, (None, DEFAULT_POLL_INTERVAL_S))
                low, high = s.range if s.range is not None else DEFAULT_RANGE.get(s.kind, (-math.inf, math.inf))
                yield SensorInfo(
                    slot=slot,
                    site=site.id,
                    site_type=site.type,
                    area=area.id,
                    area_kind=area.kind,
                    sensor=s.id,
                    name=s.name or s.id,
                    kind=s.kind,
                    unit=s.unit if s.unit is not None else DEFAULT_UNIT[s.kind],
                    range_min=low,
                    range_max=high,
                    location=s.location,
                    critical=s.critical if s.critical is not None else s.kind in GAS_KINDS,
                    limits=s.limits
                    if s.limits is not None
                    else default_limits(site.type, area.kind, s.kind, s.location),
                    detect=s.detect,
                    device=device_id,
                    poll_interval=interval,
                )
                slot += 1


_UNIT_LIMITS = Limits()
_UNIT_DETECTION = DetectionSettings()
"""Shared by every unit slot: a group's alarm comes from its own rule, not from limits or per-sensor settings,
and one pydantic model per group would cost more than the group's columns at province scale."""


def _unit_slots(config: HazwatchConfig, registry: SensorRegistry) -> list[SensorInfo]:
    """One slot per group, after the sensors. Its kind and unit are those of what the group's alarm value
    measures: a unit model's score has none (generic), a vote is in its members' unit, a runaway or a
    ventilation alarm in its first member's unit per minute."""
    units: list[SensorInfo] = []
    for site in config.sites:
        area_kind = {area.id: area.kind for area in site.areas}
        for group in site.groups:
            slots = [registry.slot(site.id, ref) for ref in group.member_refs]
            unknown = [ref for ref, slot in zip(group.member_refs, slots, strict=True) if slot is None]
            if unknown:
                raise ValueError(f"group {group.name!r} refers to unknown sensor {site.id}/{unknown[0]}")
            members = [registry.info(slot) for slot in slots if slot is not None]
            first = members[0]
            area = group.area or first.area
            kind, unit = first.kind, f"{first.unit}/min"
            if isinstance(group, MultivariateGroup):
                kind, unit = SensorKind.GENERIC, ""
            elif isinstance(group, VoteGroup):
                unit = first.unit
            units.append(
                SensorInfo(
                    slot=len(registry) + len(units),
                    site=site.id,
                    site_type=site.type,
                    area=area,
                    area_kind=area_kind[area],
                    sensor=group.unit_id,
                    name=group.name,
                    kind=kind,
                    unit=unit,
                    range_min=-math.inf,
                    range_max=math.inf,
                    location=None,
                    critical=any(m.critical for m in members),
                    limits=_UNIT_LIMITS,
                    detect=_UNIT_DETECTION,
                    device=None,
                    poll_interval=max(m.poll_interval for m in members),
                    members=tuple(m.slot for m in members),
                )
            )
    return units
