"""What a rule detector reports: a condition of one sensor (or group) changing level.

Rule detectors keep their state in per-slot arrays and only emit a ConditionChange when a
sensor's level for that rule changes, so the objects created are as rare as the changes.
The alarm lifecycle turns these into ISA-18.2 AlarmEvents.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ConditionChange:
    slot: int
    """The sensor slot (for group rules: the slot the alarm is shown on)."""
    rule: str
    """Stable rule name, e.g. 'threshold.high', 'health.offline', 'trend.forecast', 'multi.ventilation'."""
    category: str
    """'process' or 'health' (sensor-health alarms suppress a faulty sensor's process alarms)."""
    level: int
    """0 = condition gone; 1.. = active at this level."""
    level_name: str
    priority: str
    value: float
    limit: float
    time_ns: int
    message: str
    latch: bool = False
    extra: dict[str, object] = field(default_factory=dict)
    suppresses: tuple[int, ...] = ()
    """Health conditions only: slots whose process alarms are held off while this condition is active."""
