"""health.bad_value: a sensor whose device keeps sending values that are not readings (the rule: clock.py)."""

from __future__ import annotations

from detectors.engine.declaration import Phase, RuleDeclaration
from detectors.rules.clock import AFTER, BAD_VALUE, RefusedReadings

RULE = RuleDeclaration(
    name="bad_value",
    phase=Phase.HEALTH,
    build=lambda setup: RefusedReadings(setup.labels, BAD_VALUE, setup.config.intake.refused_alarm_after),
    parameters=(AFTER,),
    after=("health",),
)
