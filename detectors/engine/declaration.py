"""What a rule module declares about itself, so the stack can be built from the modules alone.

A rule module in `detectors/rules/` exports one `RULE = RuleDeclaration(...)`: its name, when it runs
relative to the others (phase, `after`), the parameters it takes with their defaults, units and where each
default comes from, how it reads them from the site config (`build`), and, when it has per-sensor settings
of its own, their pydantic model. The catalog (`detectors/rules/catalog.py`) finds the declarations, orders
them and builds the rules; nothing else keeps a list of rules.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from detectors.engine.rule import Rule

if TYPE_CHECKING:
    from detectors.engine.setup import Setup


class Phase(enum.IntEnum):
    """Where a rule's changes stand among the others when several fall on the same reading.

    The stack routes changes in time order and, at equal times, in rule order; a health change must come
    before the process changes it suppresses at that reading, and group rules read the state per-sensor
    rules left behind.
    """

    HEALTH = 0
    """Judges the readings themselves; its conditions may suppress the process rules of a sensor."""
    SENSOR = 1
    """Process rules of one sensor at a time."""
    GROUP = 2
    """Process rules over several sensors (site groups)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a rule, as docs/detectors.md and `hazwatch`'s users need to know it."""

    name: str
    """The parameter's name: the `detect` setting (or group field) that overrides it, where there is one."""
    default: str
    """The default, in words where it depends on the kind (e.g. 'CH4 0.2 %/min, CO 5 ppm/h')."""
    unit: str
    source: str
    """Where the default comes from: a DOMAIN.md section, a regulation, or 'engineering choice: why'."""

    @classmethod
    def of(cls, model: type[BaseModel], name: str, unit: str, source: str) -> Parameter:
        """Parameters that are fields of a settings model (`name`: one field or several, comma-separated), with
        the model's defaults: what the docs say a default is cannot drift from what the code uses."""
        fields = [field.strip() for field in name.split(",")]
        return cls(name, ", ".join(spoken(model.model_fields[f].default) for f in fields), unit, source)


def spoken(value: float) -> str:
    """A default as people say it: seconds of whole days or hours (a day or more) in days or hours, else the number."""
    if isinstance(value, float) and value >= 3600:
        if value % 86400 == 0:
            days = int(value // 86400)
            return f"{days} day" if days == 1 else f"{days} days"
        if value % 3600 == 0:
            return f"{int(value // 3600)} h"
    return f"{value:g}"


@dataclass(frozen=True)
class RuleDeclaration:
    name: str
    """The rule module's name, used by `after` and in the per-sensor `detect.rules` block."""
    phase: Phase
    build: Callable[[Setup], Rule]
    """The rule for a deployment: its parameter arrays from the sensor registry and the site config."""
    parameters: tuple[Parameter, ...] = ()
    after: tuple[str, ...] = ()
    """Rules of the same phase whose changes must come before this rule's at one reading."""
    settings: type[BaseModel] | None = None
    """The model of the rule's own per-sensor settings (`detect.rules.<name>`), validated before start."""
