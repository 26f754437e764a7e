"""A site as the physics sees it: the config's sensors in slot order, found by area, kind and location."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from hazwatch.config.kinds import AreaKind, Location, SensorKind, SiteType
from hazwatch.config.registry import SensorInfo, SensorRegistry
from hazwatch.config.schema import HazwatchConfig, ModbusDevice, Site


class LayoutError(ValueError):
    """A scenario names an area, sensor or device the site config does not have."""


@dataclass(frozen=True)
class SiteLayout:
    site: Site
    sensors: list[SensorInfo]
    """This site's sensors in slot order (the column order of every rendered matrix)."""

    @classmethod
    def from_config(cls, config: HazwatchConfig, site_id: str | None = None) -> SiteLayout:
        site = next((s for s in config.sites if site_id in (None, s.id)), None)
        if site is None:
            raise LayoutError(f"no site {site_id!r} in the config")
        registry = SensorRegistry.from_config(config)
        return cls(site, [s for s in registry if s.site == site.id])

    @property
    def ids(self) -> list[str]:
        return [s.sensor for s in self.sensors]

    @property
    def type(self) -> SiteType:
        return self.site.type

    def column(self, sensor_id: str) -> int:
        for i, s in enumerate(self.sensors):
            if s.sensor == sensor_id:
                return i
        raise LayoutError(f"no sensor {sensor_id!r} in site {self.site.id}")

    def areas(self, kind: AreaKind) -> list[str]:
        return [a.id for a in self.site.areas if a.kind is kind]

    def area(self, area_id: str | None, kind: AreaKind) -> str:
        """The named area (checked to be of `kind`), or the site's first area of that kind."""
        candidates = self.areas(kind)
        if area_id is None:
            if not candidates:
                raise LayoutError(f"site {self.site.id} has no {kind} area")
            return candidates[0]
        if area_id not in candidates:
            raise LayoutError(f"{area_id!r} is not a {kind} area of site {self.site.id}")
        return area_id

    def find(
        self,
        area: str | None = None,
        kind: SensorKind | None = None,
        location: Location | Iterable[Location] | None = None,
    ) -> list[SensorInfo]:
        locations = {location} if isinstance(location, Location) else set(location or ())
        return [
            s
            for s in self.sensors
            if (area is None or s.area == area)
            and (kind is None or s.kind is kind)
            and (not locations or s.location in locations)
        ]

    def device_sensors(self, device_id: str) -> list[str]:
        for device in self.site.devices:
            if device.id != device_id:
                continue
            if isinstance(device, ModbusDevice):
                return [r.sensor for r in device.registers]
            return [*device.sensors, *(t.sensor for t in device.topics if t.sensor)]
        raise LayoutError(f"no device {device_id!r} in site {self.site.id}")

    def empty(self, n: int) -> np.ndarray:
        return np.full((n, len(self.sensors)), np.nan)
