"""Load and validate site config files; every problem is reported with its field path, value and reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hazwatch.config import safe_yaml
from hazwatch.config.kinds import DEFAULT_RANGE, RANGE_OPTIONAL
from hazwatch.config.partition import split_units
from hazwatch.config.schema import REGISTER_WORDS, HazwatchConfig, ModbusDevice, Site

_UNION_TAGS = {"modbus", "mqtt", "ventilation", "runaway", "vote_2oo3", "multivariate"}


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason} (got {self.value!r})"


class ConfigError(Exception):
    """A config that must not start anything: carries every problem found, not just the first."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(
            f"{source}: {len(self.problems)} problem(s)\n" + "\n".join(f"  {p}" for p in self.problems)
        )


def format_path(loc: Iterable[str | int]) -> str:
    """('sites', 0, 'devices', 2, 'modbus', 'registers', 5, 'type') -> 'sites[0].devices[2].registers[5].type'."""
    out = ""
    previous_was_index = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            previous_was_index = True
            continue
        if previous_was_index and part in _UNION_TAGS:
            continue
        out += f".{part}" if out else part
        previous_was_index = False
    return out or "(top level)"


def _lookup(document: Any, loc: Iterable[str | int]) -> Any:
    node = document
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            continue
    return node


def load_config(path: str | Path) -> HazwatchConfig:
    """Parse one site config file, or raise ConfigError listing every problem."""
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(safe_yaml.MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, [ConfigProblem("(file)", source, exc.strerror or str(exc))]) from exc
    return parse_config_bytes(raw, source)


def parse_config_bytes(raw: bytes, source: str = "<config>") -> HazwatchConfig:
    """A config file's bytes: UTF-8 YAML within the safe limits, then the schema; else ConfigError."""
    if len(raw) > safe_yaml.MAX_BYTES:
        problem = f"YAML refused: larger than {safe_yaml.MAX_BYTES >> 20} MiB"
        raise ConfigError(source, [ConfigProblem("(file)", None, problem)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} (offset {exc.start})"
        raise ConfigError(source, [ConfigProblem("(file)", None, problem)]) from None
    try:
        document = safe_yaml.load(text)
    except safe_yaml.YamlRefused as exc:
        raise ConfigError(source, [ConfigProblem("(file)", None, f"YAML refused: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ConfigError(source, [ConfigProblem(where, None, f"not valid YAML: {exc}")]) from exc
    return parse_config(document, source)


def parse_config(document: Any, source: str = "<config>") -> HazwatchConfig:
    try:
        config = HazwatchConfig.model_validate(document)
    except ValidationError as exc:
        problems = [
            ConfigProblem(
                format_path(err["loc"]), err.get("input", _lookup(document, err["loc"])), err["msg"]
            )
            for err in exc.errors()
        ]
        raise ConfigError(source, problems) from None
    problems = list(check_references(config))
    if problems:
        raise ConfigError(source, problems)
    return config


def load_configs(paths: Sequence[str | Path]) -> HazwatchConfig:
    """Several site files run as one deployment: sites are concatenated, settings come from the first file."""
    configs = [load_config(p) for p in paths]
    first = configs[0]
    sites = [site for c in configs for site in c.sites]
    problems = [
        ConfigProblem(f"sites[{i}].id", s.id, "site id used by an earlier file")
        for i, s in enumerate(sites)
        if s.id in {t.id for t in sites[:i]}
    ]
    if problems:
        raise ConfigError(", ".join(map(str, paths)), problems)
    return first.model_copy(update={"sites": sites})


def check_references(config: HazwatchConfig) -> Iterable[ConfigProblem]:
    """Cross-field rules pydantic cannot see: unique ids, and every reference pointing at something real."""
    site_ids: set[str] = set()
    for si, site in enumerate(config.sites):
        prefix = f"sites[{si}]"
        if site.id in site_ids:
            yield ConfigProblem(f"{prefix}.id", site.id, "duplicate site id")
        site_ids.add(site.id)
        yield from _check_site(site, prefix)
    for path, value, reason in split_units(config):
        yield ConfigProblem(path, value, reason)


def _check_site(site: Site, prefix: str) -> Iterable[ConfigProblem]:
    sensors: dict[str, str] = {}
    area_ids: set[str] = set()
    for ai, area in enumerate(site.areas):
        if area.id in area_ids:
            yield ConfigProblem(f"{prefix}.areas[{ai}].id", area.id, "duplicate area id")
        area_ids.add(area.id)
        for xi, sensor in enumerate(area.sensors):
            path = f"{prefix}.areas[{ai}].sensors[{xi}]"
            if sensor.id in sensors:
                yield ConfigProblem(
                    f"{path}.id", sensor.id, f"duplicate sensor id (first at {sensors[sensor.id]})"
                )
            sensors.setdefault(sensor.id, path)
            if sensor.range is None and sensor.kind not in DEFAULT_RANGE and sensor.kind not in RANGE_OPTIONAL:
                yield ConfigProblem(f"{path}.range", None, f"a {sensor.kind} sensor needs its physical range")
        in_area = {s.id for s in area.sensors}
        for pi, group in enumerate(area.airflow_paths):
            for gi, ref in enumerate(group):
                if ref not in in_area:
                    yield ConfigProblem(
                        f"{prefix}.areas[{ai}].airflow_paths[{pi}][{gi}]", ref, "no such sensor in this area"
                    )

    read_by: dict[str, str] = {}
    device_ids: set[str] = set()
    for di, device in enumerate(site.devices):
        dpath = f"{prefix}.devices[{di}]"
        if device.id in device_ids:
            yield ConfigProblem(f"{dpath}.id", device.id, "duplicate device id")
        device_ids.add(device.id)
        if device.area is not None and device.area not in area_ids:
            yield ConfigProblem(f"{dpath}.area", device.area, "no such area in this site")
        refs = (
            [(f"{dpath}.registers[{ri}].sensor", r.sensor) for ri, r in enumerate(device.registers)]
            if isinstance(device, ModbusDevice)
            else [
                (f"{dpath}.topics[{ti}].sensor", t.sensor) for ti, t in enumerate(device.topics) if t.sensor
            ]
            + [(f"{dpath}.sensors[{xi}]", ref) for xi, ref in enumerate(device.sensors)]
            + [
                (f"{dpath}.sparkplug.metrics[{mi}].sensor", m.sensor)
                for mi, m in enumerate(device.sparkplug.metrics if device.sparkplug else [])
                if m.sensor not in device.sensors
            ]
        )
        for path, ref in refs:
            if ref not in sensors:
                yield ConfigProblem(path, ref, "no such sensor in this site")
            elif ref in read_by:
                yield ConfigProblem(path, ref, f"sensor already read at {read_by[ref]}")
            else:
                read_by[ref] = path
        if isinstance(device, ModbusDevice):
            yield from _check_register_overlap(device, dpath)

    group_ids: dict[str, int] = {}
    for gi, group in enumerate(site.groups):
        for field, ref in group.model_dump(
            include={"methane", "air_velocity", "temperature", "pressure"}
        ).items():
            if ref not in sensors:
                yield ConfigProblem(f"{prefix}.groups[{gi}].{field}", ref, "no such sensor in this site")
        for ri, ref in enumerate(getattr(group, "sensors", [])):
            if ref not in sensors:
                yield ConfigProblem(
                    f"{prefix}.groups[{gi}].sensors[{ri}]", ref, "no such sensor in this site"
                )
        if group.area is not None and group.area not in area_ids:
            yield ConfigProblem(f"{prefix}.groups[{gi}].area", group.area, "no such area in this site")
        if group.unit_id in sensors:
            yield ConfigProblem(f"{prefix}.groups[{gi}].id", group.unit_id, "a sensor of this site has this id")
        elif group.unit_id in group_ids:
            yield ConfigProblem(
                f"{prefix}.groups[{gi}].id", group.unit_id, f"id of groups[{group_ids[group.unit_id]}] too"
            )
        group_ids.setdefault(group.unit_id, gi)




def _check_register_overlap(device: ModbusDevice, dpath: str) -> Iterable[ConfigProblem]:
    """Two sensors decoding overlapping words is a register-map typo (single bits may share a word)."""
    taken: dict[tuple[int, str, int], int] = {}
    for ri, reg in enumerate(device.registers):
        if reg.bit is not None:
            continue
        unit = device.unit_id if reg.unit_id is None else reg.unit_id
        for word in range(reg.address, reg.address + REGISTER_WORDS[reg.type]):
            key = (unit, reg.table, word)
            if key in taken:
                yield ConfigProblem(
                    f"{dpath}.registers[{ri}].address",
                    reg.address,
                    f"overlaps registers[{taken[key]}] at word {word}",
                )
                break
            taken[key] = ri
