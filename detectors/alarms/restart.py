"""After a restart, restored alarms are checked against the first readings.

The rule detectors start with empty state and report only changes, so a restored alarm whose
condition went away while hazwatch was down would never hear of it: a latched power-cut stayed
`unacknowledged` at level 2 and could not be reset. `RestartCheck` wraps the detector stack and,
for each restored alarm whose condition was active, waits for either

- the detectors to report the (slot, rule) themselves (the readings still hold the condition, or
  they changed it): the lifecycle applies that as usual, so there is no duplicate raise and no new
  id for a condition that is still there; or
- `window_ns[rule][slot]` of the sensor's readings during which the detectors, fed those readings,
  reported nothing: the condition is then gone and the lifecycle is told so (a clear; a latched
  alarm moves to `latched` and can be reset).

The window of a threshold rule is its longest on-delay, so a reading still over a limit raises
(and so confirms) before the window ends: no false clear. Rules with no window given (trend,
exposure, multi-sensor) keep their restored condition until their detector reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.events import AlarmEvent
from hazwatch.quality import Quality


class _Stack(Protocol):
    def update(self, batch: ReadingBatch) -> list[AlarmEvent]: ...

    def tick(self, now_ns: int) -> list[AlarmEvent]: ...


@dataclass
class _Unconfirmed:
    category: str
    reported_ns: int
    """The lifecycle's last report time at restore: a newer one means the detectors spoke."""
    window_ns: int
    good_only: bool
    first_ns: int | None = None


WindowRule = tuple[np.ndarray, bool]
"""Per-slot confirmation window in ns (negative: not checked) and whether only GOOD readings count."""


class RestartCheck:
    """A Detector: the stack's events, plus the clears of restored conditions the readings no longer hold."""

    def __init__(self, stack: _Stack, lifecycle: AlarmLifecycle, windows: Mapping[str, WindowRule]) -> None:
        self.stack = stack
        self.lifecycle = lifecycle
        self._waiting: dict[tuple[int, str], _Unconfirmed] = {}
        for (slot, rule), (_level, category, reported_ns) in lifecycle.conditions().items():
            if rule not in windows:
                continue
            window, good_only = windows[rule]
            if 0 <= slot < len(window) and window[slot] >= 0:
                self._waiting[(slot, rule)] = _Unconfirmed(category, reported_ns, int(window[slot]), good_only)

    @property
    def waiting(self) -> int:
        """Restored conditions not yet confirmed or cleared by the readings."""
        return len(self._waiting)

    def update(self, batch: ReadingBatch) -> list[AlarmEvent]:
        events = self.stack.update(batch)
        if self._waiting and len(batch):
            events += self._check(batch)
        return events

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        return self.stack.tick(now_ns)

    def __getattr__(self, name: str) -> object:
        """Everything else (reset, suppressed, rules) is the stack's."""
        return getattr(self.stack, name)

    def _check(self, batch: ReadingBatch) -> list[AlarmEvent]:
        conditions = self.lifecycle.conditions()
        suppressed = getattr(self.stack, "suppressed", lambda _slot: False)
        changes: list[ConditionChange] = []
        for key, waiting in list(self._waiting.items()):
            now = conditions.get(key)
            if now is None or now[2] != waiting.reported_ns:
                del self._waiting[key]  # the detectors reported it (or an operator cleared it): theirs now
                continue
            slot, rule = key
            rows = batch.slot == slot
            rows &= batch.quality == Quality.GOOD if waiting.good_only else batch.quality != Quality.OFFLINE
            if not rows.any() or suppressed(slot):
                continue
            times = batch.time_ns[rows]
            value = float(batch.value[rows][np.argmax(times)])
            first = int(times.min()) if waiting.first_ns is None else waiting.first_ns
            waiting.first_ns = first
            last = int(times.max())
            if last - first >= waiting.window_ns:
                del self._waiting[key]
                changes.append(_gone(slot, rule, waiting.category, value, last))
        if not changes:
            return []
        return self.lifecycle.apply(changes, max(change.time_ns for change in changes))


def _gone(slot: int, rule: str, category: str, value: float, time_ns: int) -> ConditionChange:
    return ConditionChange(
        slot=slot,
        rule=rule,
        category=category,
        level=0,
        level_name="normal",
        priority="low",
        value=value,
        limit=float("nan"),
        time_ns=time_ns,
        message=f"gone in the readings after the restart (now {value:.4g})",
    )
