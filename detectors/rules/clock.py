"""health.clock and health.bad_value: a sensor whose readings keep being refused before detection.

The collector refuses a reading stamped outside the accepted time window (collector/pipeline/intake.py) and a
value that is no reading at all (a JSON boolean on a temperature, a NaN, text; collector/sources/mqtt/payloads.py)
before it reaches detection or storage, and tells the stack which slots they were for. These rules turn a run
of them into a health alarm, so a device with a wrong clock or broken firmware is a visible fault instead of
a sensor that silently stops counting. They never hold off the sensor's process alarms: the refused readings
never reach them, and the offline dead-man still runs for a sensor whose every reading is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import PAD, Frame, Series
from detectors.engine.rule import Rule

CLOCK = "health.clock"
BAD_VALUE = "health.bad_value"

_CAUSE = {CLOCK: "clock", BAD_VALUE: "value"}
_MESSAGE = {
    CLOCK: "readings stamped outside the accepted time window (device clock wrong?), refused",
    BAD_VALUE: "values that are not readings (wrong type, not finite, malformed), refused",
}


class RefusedReadings(Rule):
    """Raised after `after` refused readings with no accepted one between; cleared after `after` accepted ones."""

    def __init__(self, labels: Sequence[str], rule: str = CLOCK, after: int = 3) -> None:
        self.n_slots = len(labels)
        self.labels = labels
        self.rule = rule
        self.cause = _CAUSE[rule]
        self.after = after
        # Allocated at the first refusal: most deployments never see one, and at province scale the three
        # arrays would be ~17 B per sensor for each of the two rules.
        self.refused_run = np.zeros(0, dtype=np.int64)
        self.accepted_run = np.zeros(0, dtype=np.int64)
        self.level = np.zeros(0, dtype=np.int8)

    def refused(self, slots: np.ndarray, now_ns: int, cause: str) -> list[ConditionChange]:
        """Readings of `slots` (one entry per reading) were refused for `cause` ('clock' or 'value')."""
        if cause != self.cause:
            return []
        if not len(self.level):
            self.refused_run = np.zeros(self.n_slots, dtype=np.int64)
            self.accepted_run = np.zeros(self.n_slots, dtype=np.int64)
            self.level = np.zeros(self.n_slots, dtype=np.int8)
        counts = np.bincount(slots, minlength=self.n_slots)[: self.n_slots]
        hit = counts > 0
        self.refused_run[hit] += counts[hit]
        self.accepted_run[hit] = 0
        raise_now = np.flatnonzero(hit & (self.refused_run >= self.after) & (self.level == 0))
        return [self._change(int(slot), 1, now_ns) for slot in raise_now.tolist()]

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        at = frame.index
        if not len(self.level) or (not self.level[at].any() and not self.refused_run[at].any()):
            return []
        real = np.ones(frame.quality.shape, dtype=bool) if frame.all_good else frame.quality != PAD
        seen = real.sum(axis=0)
        self.accepted_run[at] += seen
        back = np.asarray(self.accepted_run[at] >= self.after)
        cols = frame.slots
        if isinstance(at, slice):
            self.refused_run[at] = np.where(seen > 0, 0, self.refused_run[at])
        else:
            self.refused_run[cols[seen > 0]] = 0
        clear = np.flatnonzero(back & (self.level[at] > 0))
        return [self._change(int(cols[c]), 0, int(frame.time[-1, c])) for c in clear.tolist()]

    def _change(self, slot: int, level: int, time_ns: int) -> ConditionChange:
        self.level[slot] = level
        label = self.labels[slot]
        name = self.rule.split(".")[1]
        return ConditionChange(
            slot=slot,
            rule=self.rule,
            category="health",
            level=level,
            level_name=name if level else "normal",
            priority="high",
            value=float("nan"),
            limit=float(self.after),
            time_ns=time_ns,
            message=f"{label}: {_MESSAGE[self.rule]}" if level else f"{label}: {name} cleared, readings accepted again",
        )


AFTER = Parameter(
    "intake.refused_alarm_after", "3", "readings in a row",
    "engineering choice: one stray stamp or value is counted, not an alarm; a device that keeps doing it is a fault",
)  # fmt: skip

RULE = RuleDeclaration(
    name="clock",
    phase=Phase.HEALTH,
    build=lambda setup: RefusedReadings(setup.labels, CLOCK, setup.config.intake.refused_alarm_after),
    parameters=(AFTER,),
    after=("health",),
)
