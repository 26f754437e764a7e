"""The shape every rule detector shares, so each can run alone on a batch or inside the stack on shared frames.

The stack lays a batch out as frames once and hands every rule the same frames; a rule used on its own
(tests, tools) lays the batch out itself through `update(batch)`.
"""

from __future__ import annotations

from detectors.alarms.conditions import ConditionChange
from detectors.engine.frame import Frame, GoodView, Series, frames_of
from hazwatch.batch import ReadingBatch


class Rule:
    """A rule detector: `update(batch)` and `tick(now_ns)` return the (slot, rule) level changes."""

    n_slots: int
    _view: GoodView | None = None

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        raise NotImplementedError

    def finish(self, now_ns: int) -> list[ConditionChange]:
        """Group rules evaluated once per batch on each member's latest state; per-reading rules return []."""
        return []

    def tick(self, now_ns: int) -> list[ConditionChange]:
        return []

    def update(self, batch: ReadingBatch) -> list[ConditionChange]:
        if self._view is None:
            self._view = GoodView(self.n_slots)
        changes: list[ConditionChange] = []
        newest = 0
        for frame in frames_of(batch):
            changes += self.update_frame(frame, self._view.series(frame))
            newest = max(newest, int(frame.time[-1].max()))
        if len(batch):
            changes += self.finish(newest)
        return changes
