"""The sensor registry: every configured sensor gets a slot, the integer index used by batches and detectors.

Per-slot facts (kind, range, limits) are kept as numpy arrays so detectors and sinks can look
them up for a whole batch at once.

Every sensor group (detection `groups`: a unit model, a 2oo3 vote, ...) gets a slot too, after all the
sensors: the slot its own alarm is on, so the alarm is shown under the group's id, name and area, and a
member's own health alarms neither withdraw it nor are read as it. Such a *unit slot* never receives
readings: `len(registry)`, iteration and `slots_of_site()` cover the sensors only (what sources and per-sensor
rules use), while `sensors[slot]` and `slot(site, id)` know every slot an alarm can be on, unit slots included.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import numpy as np

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


@dataclass(frozen=True, slots=True)
class SensorInfo:
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


class SensorRegistry:
    """All sensors of a deployment, in slot order."""

    def __init__(self, sensors: list[SensorInfo], units: list[SensorInfo] | None = None) -> None:
        self.sensors = sensors + (units or [])
        """Every slot's facts: the sensors', then the unit slots' (one per group, in config order)."""
        self.n_sensors = len(sensors)
        self._unit_by_site: dict[str, dict[str, int]] = {}
        for u in units or []:
            self._unit_by_site.setdefault(u.site, {})[u.sensor] = u.slot
        # site → sensor id → slot: one small dict per site instead of a (site, sensor) tuple per sensor
        # (~60 bytes/sensor less at province scale, docs/performance.md).
        self._by_site: dict[str, dict[str, int]] = {}
        for s in sensors:
            self._by_site.setdefault(s.site, {})[s.sensor] = s.slot
        self.range_min = np.array([s.range_min for s in sensors], dtype=np.float64)
        self.range_max = np.array([s.range_max for s in sensors], dtype=np.float64)
        self.poll_interval = np.array([s.poll_interval for s in sensors], dtype=np.float64)

    @classmethod
    def from_config(cls, config: HazwatchConfig) -> SensorRegistry:
        sensors: list[SensorInfo] = []
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
                    sensors.append(
                        SensorInfo(
                            slot=len(sensors),
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
                    )
        return cls(sensors, _unit_slots(config, sensors))

    def __len__(self) -> int:
        """The number of sensors (unit slots are not counted: they never get readings)."""
        return self.n_sensors

    def __iter__(self):
        return itertools.islice(self.sensors, self.n_sensors)

    @property
    def units(self) -> list[SensorInfo]:
        """The groups' own slots, in config order."""
        return self.sensors[self.n_sensors :]

    def with_poll_intervals(self, intervals: dict[int, float]) -> SensorRegistry:
        """The same sensors, those without a device promising the given intervals (slot → seconds)."""
        return SensorRegistry(
            [
                dataclasses.replace(s, poll_interval=intervals[s.slot])
                if s.device is None and s.slot in intervals
                else s
                for s in self
            ],
            self.units,
        )

    def slot(self, site: str, sensor: str) -> int | None:
        """The slot of a sensor, or of a group's own alarm by the group's id (`GroupIdentity.unit_id`): the loader
        refuses a group id that is also a sensor's, so the two never collide."""
        found = self._by_site.get(site, {}).get(sensor)
        return found if found is not None else self._unit_by_site.get(site, {}).get(sensor)

    def slots_of_site(self, site: str) -> dict[str, int]:
        """Sensor id → slot for one site: what a source uses to resolve its mapping once at start-up."""
        return dict(self._by_site.get(site, {}))


def _unit_slots(config: HazwatchConfig, sensors: list[SensorInfo]) -> list[SensorInfo]:
    """One slot per group, after the sensors. Its kind and unit are those of what the group's alarm value
    measures: a unit model's score has none (generic), a vote is in its members' unit, a runaway or a
    ventilation alarm in its first member's unit per minute."""
    by_key = {(s.site, s.sensor): s for s in sensors}
    units: list[SensorInfo] = []
    for site in config.sites:
        area_kind = {area.id: area.kind for area in site.areas}
        for group in site.groups:
            unknown = [ref for ref in group.member_refs if (site.id, ref) not in by_key]
            if unknown:
                raise ValueError(f"group {group.name!r} refers to unknown sensor {site.id}/{unknown[0]}")
            members = [by_key[(site.id, ref)] for ref in group.member_refs]
            first = members[0]
            area = group.area or first.area
            kind, unit = first.kind, f"{first.unit}/min"
            if isinstance(group, MultivariateGroup):
                kind, unit = SensorKind.GENERIC, ""
            elif isinstance(group, VoteGroup):
                unit = first.unit
            units.append(
                SensorInfo(
                    slot=len(sensors) + len(units),
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
                    limits=Limits(),
                    detect=DetectionSettings(),
                    device=None,
                    poll_interval=max(m.poll_interval for m in members),
                    members=tuple(m.slot for m in members),
                )
            )
    return units
