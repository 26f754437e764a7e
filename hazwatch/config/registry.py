"""The sensor registry: every configured sensor gets a slot, the integer index used by batches and detectors.

Per-slot facts (kind, range, limits) are kept as numpy arrays so detectors and sinks can look
them up for a whole batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazwatch.config.defaults import default_limits
from hazwatch.config.detection import DetectionSettings
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

    @property
    def key(self) -> str:
        return f"{self.site}/{self.sensor}"


class SensorRegistry:
    """All sensors of a deployment, in slot order."""

    def __init__(self, sensors: list[SensorInfo]) -> None:
        self.sensors = sensors
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
                    device_id, interval = device_of.get(s.id, (None, 10.0))
                    low, high = s.range if s.range is not None else DEFAULT_RANGE[s.kind]
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
        return cls(sensors)

    def __len__(self) -> int:
        return len(self.sensors)

    def __iter__(self):
        return iter(self.sensors)

    def slot(self, site: str, sensor: str) -> int | None:
        return self._by_site.get(site, {}).get(sensor)

    def slots_of_site(self, site: str) -> dict[str, int]:
        """Sensor id → slot for one site: what a source uses to resolve its mapping once at start-up."""
        return dict(self._by_site.get(site, {}))
