"""Which worker owns which sensor: `hazwatch run CONFIG --partition K/N`.

Every worker loads the whole config, so every sensor keeps the slot (and so the alarm event ids) it has
in a single-worker run; a worker then reads, detects and alarms only for the sensors of its partition.
Sensors are grouped into *units* that never split: under `partitioning.by: site` a unit is a site, under
`area` an area, under `device` the sensors one device reads together with every sensor a multi-sensor
group or an airflow path ties to them. A device is never split (one worker polls it or subscribes to it,
and its dead-man alarm needs all of its sensors), nor is a group (its rule needs all of its members).
A unit goes to partition `jump(blake2b(key), N)`: the same answer in every process, on every machine and
every Python version (the built-in `hash()` is salted per process). Jump consistent hashing (Lamping and
Veach, 2014) rather than `mod N`: going from N to N+1 workers moves only about 1/(N+1) of the units, all to
the new worker, where `mod N` would move nearly all of them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hazwatch.config.schema import HazwatchConfig, ModbusDevice, MqttDevice, Site


@dataclass(frozen=True, slots=True)
class PartitionSpec:
    """Partition `index` of `count` (0-based), as written on the command line: `K/N`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> PartitionSpec:
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"{text!r} is not K/N (for example 0/3)") from None
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"{text!r}: need 0 <= K < N and N >= 1")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


_MASK64 = (1 << 64) - 1


def stable_bucket(key: str, count: int) -> int:
    """The partition of a unit key: blake2b of the key into jump consistent hashing (integer and IEEE double
    arithmetic only, so every platform computes the same bucket)."""
    state = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")
    bucket, jump = -1, 0
    while jump < count:
        bucket = jump
        state = (state * 2862933555777941757 + 1) & _MASK64
        jump = int((bucket + 1) * (float(1 << 31) / float((state >> 33) + 1)))
    return bucket


def device_sensors(site: Site, device: ModbusDevice | MqttDevice) -> list[str]:
    """The sensors a device reads; an MQTT device naming none may carry any sensor of its site."""
    if isinstance(device, ModbusDevice):
        return [register.sensor for register in device.registers]
    named = [*device.sensors, *(topic.sensor for topic in device.topics if topic.sensor)]
    return named or [sensor.id for area in site.areas for sensor in area.sensors]


def _group_members(site: Site) -> Iterator[tuple[int, list[str]]]:
    for gi, group in enumerate(site.groups):
        fixed = group.model_dump(include={"methane", "air_velocity", "temperature", "pressure"})
        yield gi, [*fixed.values(), *getattr(group, "sensors", [])]


class _Components:
    """Union-find over one site's sensor ids."""

    def __init__(self, sensors: Iterable[str]) -> None:
        self.parent = {sensor: sensor for sensor in sensors}

    def find(self, sensor: str) -> str:
        while self.parent[sensor] != sensor:
            self.parent[sensor] = self.parent[self.parent[sensor]]
            sensor = self.parent[sensor]
        return sensor

    def join(self, members: Iterable[str]) -> None:
        roots = [self.find(member) for member in members if member in self.parent]
        for root in roots[1:]:
            low, high = sorted((self.find(roots[0]), self.find(root)))
            self.parent[high] = low


def unit_keys(config: HazwatchConfig) -> dict[tuple[str, str], str]:
    """(site, sensor) -> the key of the unit it belongs to under `config.partitioning.by`."""
    by = config.partitioning.by
    keys: dict[tuple[str, str], str] = {}
    for site in config.sites:
        if by == "site":
            keys.update({(site.id, s.id): site.id for area in site.areas for s in area.sensors})
        elif by == "area":
            keys.update({(site.id, s.id): f"{site.id}/{area.id}" for area in site.areas for s in area.sensors})
        else:
            components = _Components(s.id for area in site.areas for s in area.sensors)
            for device in site.devices:
                components.join(device_sensors(site, device))
            for _, members in _group_members(site):
                components.join(members)
            for area in site.areas:
                for path in area.airflow_paths:
                    components.join(path)
            # a unit is named after its alphabetically first sensor (union-find keeps the smallest as root)
            for area in site.areas:
                keys.update({(site.id, s.id): f"{site.id}/{components.find(s.id)}" for s in area.sensors})
    return keys


def split_units(config: HazwatchConfig) -> Iterator[tuple[str, object, str]]:
    """(field path, value, reason) for every device or group whose sensors would land in different units.

    Only `by: area` can split one: a site never straddles sites, and `by: device` joins what belongs together."""
    if config.partitioning.by != "area":
        return
    for si, site in enumerate(config.sites):
        area_of = {s.id: area.id for area in site.areas for s in area.sensors}
        for di, device in enumerate(site.devices):
            areas = sorted({area_of[s] for s in device_sensors(site, device) if s in area_of})
            if len(areas) > 1:
                yield (
                    f"sites[{si}].devices[{di}]",
                    device.id,
                    f"reads sensors of areas {', '.join(areas)}: partitioning.by: area would split it across "
                    "workers; use partitioning.by: device or site",
                )
        for gi, members in _group_members(site):
            areas = sorted({area_of[s] for s in members if s in area_of})
            if len(areas) > 1:
                yield (
                    f"sites[{si}].groups[{gi}]",
                    site.groups[gi].name,
                    f"has members in areas {', '.join(areas)}: partitioning.by: area would split it across "
                    "workers; use partitioning.by: device or site",
                )


def owned_sensors(config: HazwatchConfig, spec: PartitionSpec) -> set[tuple[str, str]]:
    """The (site, sensor) pairs partition `spec` owns."""
    return {sensor for sensor, key in unit_keys(config).items() if stable_bucket(key, spec.count) == spec.index}


def partition_sizes(config: HazwatchConfig, count: int) -> list[int]:
    """Sensors per partition for `count` workers: what `hazwatch check --partitions N` prints."""
    sizes = [0] * count
    for key in unit_keys(config).values():
        sizes[stable_bucket(key, count)] += 1
    return sizes


def moving_sensors(config: HazwatchConfig, before: int, after: int) -> Counter[int]:
    """Sensors that change worker when the count goes from `before` to `after`, by the partition they move to:
    what `hazwatch check --partitions N --from M` prints, so a change of N can be planned."""
    buckets = ((stable_bucket(key, before), stable_bucket(key, after)) for key in unit_keys(config).values())
    return Counter(to for was, to in buckets if was != to)


def with_owned_devices(config: HazwatchConfig, owned: set[tuple[str, str]]) -> HazwatchConfig:
    """The config with only the devices whose sensors this partition owns: what its sources poll and subscribe to.

    A device is never split (`split_units`), so its first sensor decides."""
    sites = []
    for site in config.sites:
        devices = [d for d in site.devices if any((site.id, s) in owned for s in device_sensors(site, d)[:1])]
        sites.append(site.model_copy(update={"devices": devices}))
    return config.model_copy(update={"sites": sites})
