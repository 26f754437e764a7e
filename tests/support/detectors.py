"""Shared by the detector specifications and by replay and scenario tests: the test clock and event filters."""

from __future__ import annotations

from hazwatch.events import AlarmEvent

SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND


def of_rule(events: list[AlarmEvent], rule: str, slot: int | None = None) -> list[AlarmEvent]:
    return [e for e in events if e.rule == rule and (slot is None or e.slot == slot)]
