"""The detector stack: every rule on the same frames, health suppression, then the alarm lifecycle.

This is the pipeline's Detector (collector/pipeline/loop.py). Routing, in one place:

- A batch is laid out as frames once; every rule sees the same frames. Rows of unknown slots and rows
  older than what a slot already reported (late back-fill) are kept out of detection and reported through
  `on_bad_input` — storage still gets them, the pipeline stores the whole batch.
- Process rules see only GOOD readings (the frames' Series): CALIBRATION and PSEUDO readings are recorded
  but never raise a process alarm; OFFLINE and FAULT rows reach the health rules.
- A health condition with `suppresses` holds off the process conditions of those slots while it is
  active: an already-shown process alarm is withdrawn (a level-0 change, extra `suppressed_by`), new ones
  are held back, and when the last suppressing condition clears, process conditions still active
  underneath are shown again. A *latched* process alarm (methane power-cut) is never withdrawn by
  suppression: it stays until reset. A group's alarm is on the group's own slot (hazwatch/config/registry.py),
  which no health condition covers: a member's health never withdraws it; a rule that models its members
  (multivariate units) hears of the member's health instead (`member_health`).
- The changes, in time order, go to `lifecycle.apply(changes, now_ns)`; what it returns is the output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.frame import NEVER, PAD, Frame, GoodView, frames_of
from detectors.engine.rule import Rule
from hazwatch.batch import ReadingBatch
from hazwatch.events import AlarmEvent

BadInput = Callable[[str, int], None]
"""Called with (reason, number of rows): 'unknown_slot' or 'late'."""


class Lifecycle(Protocol):
    def apply(self, changes: list[ConditionChange], now_ns: int) -> list[AlarmEvent]: ...

    def tick(self, now_ns: int) -> list[AlarmEvent]: ...


Key = tuple[int, str]


class DetectorStack:
    def __init__(
        self,
        n_slots: int,
        rules: Sequence[Rule],
        lifecycle: Lifecycle,
        on_bad_input: BadInput | None = None,
    ) -> None:
        self.n_slots = n_slots
        self.rules = list(rules)
        self.lifecycle = lifecycle
        self.on_bad_input = on_bad_input
        self._view = GoodView(n_slots)
        self._newest = np.full(n_slots, NEVER, dtype=np.int64)
        self._shown: dict[int, dict[str, ConditionChange]] = {}
        self._underlying: dict[int, dict[str, ConditionChange]] = {}
        self._covers: dict[Key, tuple[int, ...]] = {}
        self._suppressors: dict[int, set[Key]] = {}

    # ---- Detector protocol ----------------------------------------------------------------------------

    def update(self, batch: ReadingBatch) -> list[AlarmEvent]:
        batch = self._known(batch)
        if not len(batch):
            return []
        changes: list[ConditionChange] = []
        for frame in frames_of(batch):
            frame = self._without_late(frame)
            series = self._view.series(frame)
            for rule in self.rules:
                changes += rule.update_frame(frame, series)
        now_ns = int(batch.time_ns.max())
        for rule in self.rules:
            changes += rule.finish(now_ns)
        return self.lifecycle.apply(self._route(changes), now_ns)

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        changes: list[ConditionChange] = []
        for rule in self.rules:
            changes += rule.tick(now_ns)
        events = self.lifecycle.apply(self._route(changes), now_ns) if changes else []
        return events + self.lifecycle.tick(now_ns)

    def reset(self, slot: int, now_ns: int) -> list[AlarmEvent]:
        """An operator reset of a slot's latched conditions (those whose condition has cleared)."""
        changes: list[ConditionChange] = []
        for rule in self.rules:
            reset = getattr(rule, "reset", None)
            if reset is not None:
                changes += reset(slot, now_ns)
        return self.lifecycle.apply(self._route(changes), now_ns) if changes else []

    def refused(self, slots: np.ndarray, now_ns: int, cause: str = "clock") -> list[AlarmEvent]:
        """Readings of `slots` were refused before detection, for their time (`clock`) or for not being a
        reading (`value`): the rules that watch for that (health.clock, health.bad_value) see them here,
        never as readings."""
        changes: list[ConditionChange] = []
        for rule in self.rules:
            refused = getattr(rule, "refused", None)
            if refused is not None:
                changes += refused(slots, now_ns, cause)
        return self.lifecycle.apply(self._route(changes), now_ns) if changes else []

    def resumed(self, now_ns: int) -> None:
        """Tell the rules a restored stack runs again at `now_ns` (see HealthDetector.resumed)."""
        for rule in self.rules:
            resumed = getattr(rule, "resumed", None)
            if resumed is not None:
                resumed(now_ns)

    def suppressed(self, slot: int) -> bool:
        return bool(self._suppressors.get(slot))

    # ---- input hygiene -----------------------------------------------------------------------------

    def _known(self, batch: ReadingBatch) -> ReadingBatch:
        slot = batch.slot
        if not len(slot) or (slot.min() >= 0 and slot.max() < self.n_slots):
            return batch
        known = (slot >= 0) & (slot < self.n_slots)
        self._report("unknown_slot", int((~known).sum()))
        return batch.take(known)

    def _without_late(self, frame: Frame) -> Frame:
        """Cells older than the slot's newest processed reading become padding (columns are time-ordered)."""
        at = frame.index
        newest = self._newest[at]
        late = None if (frame.time[0] >= newest).all() else frame.time < newest
        self._newest[at] = np.maximum(newest, frame.time[-1])
        if late is None:
            return frame
        self._report("late", int((late & (frame.quality != PAD)).sum()))
        quality = np.where(late, PAD, frame.quality).astype(np.uint8)
        return Frame(frame.slots, frame.time, frame.value, quality, all_good=False, span=frame.span)

    def _report(self, reason: str, rows: int) -> None:
        if rows and self.on_bad_input is not None:
            self.on_bad_input(reason, rows)

    # ---- suppression -------------------------------------------------------------------------------

    def _route(self, changes: list[ConditionChange]) -> list[ConditionChange]:
        out: list[ConditionChange] = []
        for change in sorted(changes, key=lambda c: c.time_ns):
            if change.category == "health":
                out.append(change)
                self._cover(change, out)
                for told in self._tell_member_health(change):
                    self._process(told, out)
            else:
                self._process(change, out)
        return out

    def _tell_member_health(self, change: ConditionChange) -> list[ConditionChange]:
        """Group rules that model their members (multivariate units) hear of a member's health changes."""
        told: list[ConditionChange] = []
        for rule in self.rules:
            hook = getattr(rule, "member_health", None)
            if hook is not None:
                told += hook(change)
        return told

    def _process(self, change: ConditionChange, out: list[ConditionChange]) -> None:
        slot, rule = change.slot, change.rule
        underlying = self._underlying.setdefault(slot, {})
        if change.level:
            underlying[rule] = change
        else:
            underlying.pop(rule, None)
        shown = self._shown.setdefault(slot, {})
        if self._suppressors.get(slot) and rule not in shown:
            return
        self._show(change, out)

    def _show(self, change: ConditionChange, out: list[ConditionChange]) -> None:
        shown = self._shown.setdefault(change.slot, {})
        if change.level:
            shown[change.rule] = change
        else:
            shown.pop(change.rule, None)
        out.append(change)

    def _cover(self, change: ConditionChange, out: list[ConditionChange]) -> None:
        key = (change.slot, change.rule)
        before = set(self._covers.get(key, ()))
        after = set(change.suppresses) if change.level else set()
        self._covers[key] = tuple(after)
        for slot in sorted(after - before):
            holders = self._suppressors.setdefault(slot, set())
            holders.add(key)
            if len(holders) == 1:
                self._withdraw(slot, change, out)
        for slot in sorted(before - after):
            holders = self._suppressors.get(slot, set())
            holders.discard(key)
            if not holders:
                self._restore(slot, change, out)

    def _withdraw(self, slot: int, cause: ConditionChange, out: list[ConditionChange]) -> None:
        for shown in list(self._shown.get(slot, {}).values()):
            if shown.latch:
                continue
            self._show(
                dataclasses.replace(
                    shown,
                    level=0,
                    level_name="suppressed",
                    time_ns=cause.time_ns,
                    message=f"{shown.message} — suppressed: {cause.message}",
                    extra={**shown.extra, "suppressed_by": cause.rule},
                ),
                out,
            )

    def _restore(self, slot: int, cause: ConditionChange, out: list[ConditionChange]) -> None:
        shown = self._shown.get(slot, {})
        for rule, active in list(self._underlying.get(slot, {}).items()):
            if rule not in shown:
                self._show(dataclasses.replace(active, time_ns=cause.time_ns), out)
