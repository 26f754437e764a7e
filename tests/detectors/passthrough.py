"""A trivial lifecycle collaborator for detector tests: one AlarmEvent per condition change.

The real ISA-18.2 lifecycle (detectors/lifecycle.py) adds acknowledgement, shelving and chattering control;
these tests are about which conditions the rules raise, so each change maps straight to an event.
"""

from __future__ import annotations

from detectors.conditions import ConditionChange
from hazwatch.events import AlarmEvent, AlarmState, Transition


class PassThroughLifecycle:
    def __init__(self) -> None:
        self.levels: dict[tuple[int, str], int] = {}
        self.events: list[AlarmEvent] = []

    def apply(self, changes: list[ConditionChange], now_ns: int) -> list[AlarmEvent]:
        out = [self._event(change) for change in changes]
        self.events += out
        return out

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        return []

    def _event(self, change: ConditionChange) -> AlarmEvent:
        key = (change.slot, change.rule)
        before = self.levels.get(key, 0)
        self.levels[key] = change.level
        if change.level == 0:
            transition = Transition.CLEAR
        elif before == 0:
            transition = Transition.RAISE
        else:
            transition = Transition.ESCALATE if change.level > before else Transition.DEESCALATE
        return AlarmEvent(
            event_id=f"{change.slot}:{change.rule}:{len(self.events)}",
            slot=change.slot,
            rule=change.rule,
            category=change.category,
            transition=transition,
            state=AlarmState.UNACKNOWLEDGED if change.level else AlarmState.NORMAL,
            level=change.level,
            level_name=change.level_name,
            priority=change.priority,
            value=change.value,
            limit=change.limit,
            time_ns=change.time_ns,
            message=change.message,
            extra=dict(change.extra),
        )
