"""health.clock: a sensor whose readings keep arriving stamped outside the accepted time window.

The collector refuses such readings before they reach detection or storage (collector/pipeline/intake.py)
and tells the stack which slots they were for; this rule turns a run of them into a health alarm, so a
device with a wrong clock is a visible fault instead of a sensor that silently stops counting. It never
holds off the sensor's process alarms: the refused readings never reach them, and the offline dead-man
still runs for a sensor whose every reading is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.frame import PAD, Frame, Series
from detectors.engine.rule import Rule

CLOCK = "health.clock"


class ClockHealth(Rule):
    """Raised after `after` refused readings with no accepted one between; cleared after `after` accepted ones."""

    def __init__(self, labels: Sequence[str], after: int = 3) -> None:
        self.n_slots = len(labels)
        self.labels = labels
        self.after = after
        self.refused_run = np.zeros(self.n_slots, dtype=np.int64)
        self.accepted_run = np.zeros(self.n_slots, dtype=np.int64)
        self.level = np.zeros(self.n_slots, dtype=np.int8)

    def refused(self, slots: np.ndarray, now_ns: int) -> list[ConditionChange]:
        """Readings of `slots` (one entry per reading) were refused for their timestamp."""
        counts = np.bincount(slots, minlength=self.n_slots)
        hit = counts > 0
        self.refused_run[hit] += counts[hit]
        self.accepted_run[hit] = 0
        raise_now = np.flatnonzero(hit & (self.refused_run >= self.after) & (self.level == 0))
        return [self._change(int(slot), 1, now_ns) for slot in raise_now.tolist()]

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        at = frame.index
        if not self.level[at].any() and not self.refused_run[at].any():
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
        message = (
            f"{label}: readings stamped outside the accepted time window (device clock wrong?), refused"
            if level
            else f"{label}: clock cleared, readings stamped in time again"
        )
        return ConditionChange(
            slot=slot,
            rule=CLOCK,
            category="health",
            level=level,
            level_name="clock" if level else "normal",
            priority="high",
            value=float("nan"),
            limit=float(self.after),
            time_ns=time_ns,
            message=message,
        )
