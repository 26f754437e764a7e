"""The rule catalog: every module of this package that declares a `RULE`, in the order the stack runs them.

Adding a rule is adding a module here (docs/extending.md): the catalog finds it, validates its per-sensor
settings with their field paths, and places it by phase, then by the rules it declares it comes `after`,
then by name, so the order never depends on which file was written first.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from pydantic import BaseModel, ValidationError

import detectors.rules
from detectors.engine.declaration import RuleDeclaration
from detectors.engine.rule import Rule
from detectors.engine.setup import Setup
from hazwatch.config.loader import ConfigProblem, format_path
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig


def declarations() -> list[RuleDeclaration]:
    """Every declared rule, in stack order."""
    return list(_DECLARED)


def _discover() -> tuple[RuleDeclaration, ...]:
    """Import every rule module once, when the catalog is imported (not while a stack is being built), and
    order their declarations; raises on a duplicate name or an `after` that cannot be met."""
    found: dict[str, RuleDeclaration] = {}
    for module in pkgutil.iter_modules(detectors.rules.__path__):
        declared = getattr(importlib.import_module(f"detectors.rules.{module.name}"), "RULE", None)
        if not isinstance(declared, RuleDeclaration):
            continue
        if declared.name in found:
            raise ValueError(f"two rule modules declare the rule {declared.name!r}")
        found[declared.name] = declared
    return tuple(_ordered(found))


def _ordered(found: dict[str, RuleDeclaration]) -> list[RuleDeclaration]:
    for rule in found.values():
        for before in rule.after:
            other = found.get(before)
            if other is None or other.phase != rule.phase:
                raise ValueError(f"rule {rule.name!r} comes after {before!r}, which is no rule of its phase")
    ordered: list[RuleDeclaration] = []
    placed: set[str] = set()
    waiting = sorted(found.values(), key=lambda r: (r.phase, r.name))
    while waiting:
        ready = next((r for r in waiting if placed.issuperset(r.after)), None)
        if ready is None:
            raise ValueError(f"rules wait on each other: {[r.name for r in waiting]}")
        ordered.append(ready)
        placed.add(ready.name)
        waiting.remove(ready)
    return ordered


def settings_problems(config: HazwatchConfig) -> list[ConfigProblem]:
    """Every `detect.rules` block that names no rule or does not fit its rule's settings model, with its path."""
    models = {rule.name: rule.settings for rule in declarations() if rule.settings is not None}
    return list(_problems(config, models))


def _problems(config: HazwatchConfig, models: dict[str, type[BaseModel]]) -> Iterator[ConfigProblem]:
    for si, site in enumerate(config.sites):
        for ai, area in enumerate(site.areas):
            for xi, sensor in enumerate(area.sensors):
                at = ("sites", si, "areas", ai, "sensors", xi, "detect", "rules")
                for name, block in sensor.detect.rules.items():
                    model = models.get(name)
                    if model is None:
                        known = ", ".join(sorted(models)) or "none"
                        yield ConfigProblem(format_path((*at, name)), block, f"no rule with settings (known: {known})")
                        continue
                    try:
                        model.model_validate(block)
                    except ValidationError as exc:
                        for err in exc.errors():
                            yield ConfigProblem(format_path((*at, name, *err["loc"])), err.get("input"), err["msg"])


def build_rules(registry: SensorRegistry, config: HazwatchConfig) -> list[Rule]:
    """The deployment's rules, in stack order (the caller validated the settings: `settings_problems`)."""
    setup = Setup(registry, config)
    return [rule.build(setup) for rule in declarations()]


_DECLARED = _discover()
