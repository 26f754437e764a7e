"""Checks a scenario's alarms against its ground truth.

Three kinds of truth: the scenario's own expectations (this sensor, this rule, by then); the
regulations, derived from the rendered readings themselves (every methane, %LEL and toxic
over-limit sample must have its threshold alarm at that level within 2 s); and silence (no
process alarm on a sensor that has no reason to alarm, none from calibration gas).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from detectors.rules.threshold import LOW
from hazwatch.config.kinds import TOXIC_KINDS, SensorKind, SiteType
from hazwatch.config.limits import limit_of, reaches
from hazwatch.config.registry import SensorInfo, SensorRegistry
from hazwatch.events import AlarmEvent, Transition
from hazwatch.quality import Quality
from simulators.physics.site import Rendering
from simulators.scenarios.model import Expectation, Scenario

NS = 1_000_000_000
GROUP_RULES = "multi."
"""Rules of sensor groups: their alarms are on the group's own slot, expected by a member sensor."""
REGULATORY_WITHIN_S = 2.0
_ACTIVATIONS = (Transition.RAISE, Transition.ESCALATE)


@dataclass
class AlarmTimeline:
    """Every (slot, rule)'s level after each of its events, to ask 'was it at level ≥ L during [a, b]'."""

    times: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    levels: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    activations: dict[tuple[int, str], list[AlarmEvent]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: list[AlarmEvent]) -> AlarmTimeline:
        grouped: dict[tuple[int, str], list[AlarmEvent]] = defaultdict(list)
        for e in events:
            grouped[(e.slot, e.rule)].append(e)
        timeline = cls()
        for key, group in grouped.items():
            timeline.times[key] = np.array([e.time_ns for e in group], dtype=np.int64)
            timeline.levels[key] = np.array([e.level for e in group], dtype=np.int64)
            timeline.activations[key] = [e for e in group if e.transition in _ACTIVATIONS]
        return timeline

    def first_at_level(self, slot: int, rule: str, level: int, after_ns: int) -> int | None:
        for e in self.activations.get((slot, rule), []):
            if e.level >= level and e.time_ns >= after_ns:
                return e.time_ns
        return None

    def reached(self, slot: int, rule: str, level: int, start_ns: int, end_ns: int) -> int | None:
        """When in [start, end] the alarm was at level ≥ `level` (start itself if already there), or None."""
        times = self.times.get((slot, rule))
        if times is None:
            return None
        levels = self.levels[(slot, rule)]
        before = np.searchsorted(times, start_ns, side="right") - 1
        if before >= 0 and levels[before] >= level:
            return start_ns
        window = np.flatnonzero((times > start_ns) & (times <= end_ns) & (levels >= level))
        return int(times[window[0]]) if len(window) else None


@dataclass
class SensorSamples:
    """One sensor's delivered readings that represent real atmosphere (GOOD, not injected, on time)."""

    time_ns: np.ndarray
    value: np.ndarray

    @classmethod
    def of(cls, rendering: Rendering, column: int) -> SensorSamples:
        r = rendering.readings
        real = (
            (r.quality[:, column] == Quality.GOOD)
            & ~r.pseudo[:, column]
            & ~r.backfilled[:, column]
            & ~np.isnan(r.arrival_s[:, column])
        )
        return cls(rendering.time_ns[real], r.values[real, column])

    def first_crossing(self, limit: float, high: bool, after_ns: int) -> int | None:
        hits = np.flatnonzero(reaches(self.value, limit, high) & (self.time_ns >= after_ns))
        return int(self.time_ns[hits[0]]) if len(hits) else None

    def episode_starts(self, limit: float) -> np.ndarray:
        over = reaches(self.value, limit, True)
        starts = over & ~np.concatenate(([False], over[:-1]))
        return self.time_ns[starts]


def regulated(info: SensorInfo) -> bool:
    """Methane in mines; %LEL and toxic gases in plants (GB/T 50493) — the limits regulations fix."""
    if info.kind is SensorKind.CH4:
        return True
    return info.site_type is SiteType.CHEMICAL_PLANT and (info.kind is SensorKind.LEL or info.kind in TOXIC_KINDS)


def check(
    scenario: Scenario, rendering: Rendering, events: list[AlarmEvent], registry: SensorRegistry
) -> dict[str, object]:
    start_ns = rendering.start_ns
    timeline = AlarmTimeline.of(events)
    by_member = AlarmTimeline.of(_on_members(events, registry))
    slot_of = {s: registry.slot(rendering.site, s) for s in rendering.sensors}
    samples = {s: SensorSamples.of(rendering, i) for i, s in enumerate(rendering.sensors)}

    def seconds(ns: int | None) -> float | None:
        return None if ns is None else round((ns - start_ns) / NS, 3)

    expected, missed = [], []
    for exp in scenario.expect:
        outcome = _check_expectation(
            exp,
            registry.sensors[slot_of[exp.sensor]],
            samples[exp.sensor],
            by_member if exp.rule.startswith(GROUP_RULES) else timeline,
            start_ns,
        )
        record = {
            "sensor": exp.sensor,
            "rule": exp.rule,
            "level": exp.level,
            "raised_at_s": seconds(outcome["raised_ns"]),
            "reference": outcome["reference"],
            "reference_at_s": seconds(outcome["reference_ns"]),
            "deadline_s": seconds(outcome["deadline_ns"]),
            "delay_s": outcome["delay_s"],
            "passed": outcome["passed"],
        }
        expected.append(record)
        if not outcome["passed"]:
            missed.append(record | {"why": outcome["why"]})

    regulatory = {"episodes": 0, "detected": 0, "max_delay_s": 0.0}
    regulated_sensors = set()
    for sensor, slot in slot_of.items():
        info = registry.sensors[slot]
        if not regulated(info):
            continue
        for lv in info.limits.high:
            for crossing in samples[sensor].episode_starts(lv.value):
                regulated_sensors.add(sensor)
                regulatory["episodes"] += 1
                allowed_ns = int((REGULATORY_WITHIN_S + lv.on_delay) * NS)
                hit = timeline.reached(slot, "threshold.high", lv.level, crossing, crossing + allowed_ns)
                if hit is None:
                    missed.append(
                        {
                            "sensor": sensor,
                            "rule": "threshold.high",
                            "level": lv.level,
                            "reference": "regulatory over-limit",
                            "reference_at_s": seconds(int(crossing)),
                            "why": f"no level-{lv.level} alarm within {REGULATORY_WITHIN_S + lv.on_delay:g} s "
                            f"of the reading at or over {lv.value:g}",
                        }
                    )
                    continue
                regulatory["detected"] += 1
                regulatory["max_delay_s"] = max(regulatory["max_delay_s"], (hit - crossing) / NS)

    calibrating = _calibration_windows(rendering)
    explained = {e.sensor for e in scenario.expect} | set(scenario.may_alarm) | regulated_sensors
    false_alarms = []
    for e in events:
        if e.category != "process" or e.transition is not Transition.RAISE:
            continue
        info = registry.sensors[e.slot]
        sensor = info.sensor
        speaks_for = [registry.sensors[m].sensor for m in info.members] or [sensor]
        in_calibration = any(a <= e.time_ns <= b for s in speaks_for for a, b in calibrating.get(s, []))
        unexplained = sensor in scenario.must_not_alarm or not explained.intersection(speaks_for)
        if unexplained or in_calibration:
            false_alarms.append(
                {
                    "sensor": sensor,
                    "rule": e.rule,
                    "level": e.level,
                    "at_s": seconds(e.time_ns),
                    "why": "during calibration" if in_calibration else "no reason to alarm",
                }
            )
    return {
        "name": scenario.name,
        "title": scenario.title,
        "passed": not missed and not false_alarms,
        "expected": expected,
        "missed": missed,
        "false_alarms": false_alarms,
        "regulatory": regulatory,
    }


def _on_members(events: list[AlarmEvent], registry: SensorRegistry) -> list[AlarmEvent]:
    """A group's alarm (on its own unit slot) as an alarm of each of its members: a scenario expects a group rule
    by the member sensor whose readings time it, e.g. `{sensor: R101-TT-A, rule: multi.runaway}`."""
    return [
        dataclasses.replace(e, slot=member) if registry.sensors[e.slot].members else e
        for e in events
        for member in registry.sensors[e.slot].members or (e.slot,)
    ]


def _check_expectation(
    exp: Expectation, info: SensorInfo, samples: SensorSamples, timeline: AlarmTimeline, start_ns: int
) -> dict[str, object]:
    after_ns = start_ns + int(exp.after_s * NS)
    raised = timeline.first_at_level(info.slot, exp.rule, exp.level, after_ns)
    reference, reference_ns, deadline_ns, why = "after_s", after_ns, None, ""
    if exp.before_level is not None:
        lv = limit_of(info.limits, True, exp.before_level)
        reference = f"first reading at or over level-{exp.before_level} limit"
        if lv is None:
            return _outcome(raised, reference, None, None, False, f"{info.sensor} has no high level {exp.before_level}")
        reference_ns = samples.first_crossing(lv.value, True, after_ns)
        if reference_ns is None:
            return _outcome(raised, reference, None, None, False, f"the readings never reach {lv.value:g}")
        deadline_ns = reference_ns - 1
        why = "not raised before the limit was crossed"
    elif exp.by_s is not None:
        deadline_ns = start_ns + int(exp.by_s * NS)
        why = f"not raised by {exp.by_s:g} s"
    elif exp.rule.startswith("threshold."):
        high = exp.rule != LOW
        lv = limit_of(info.limits, high, exp.level)
        reference = f"first reading over the level-{exp.level} limit"
        if lv is None:
            return _outcome(raised, reference, None, None, False, f"{info.sensor} has no such limit level")
        reference_ns = samples.first_crossing(lv.value, high, after_ns)
        if reference_ns is None:
            return _outcome(raised, reference, None, None, False, f"the readings never cross {lv.value:g}")
        allowed = exp.within_s + lv.on_delay
        deadline_ns = reference_ns + int(allowed * NS)
        why = f"not raised within {allowed:g} s of the crossing"
    passed = raised is not None and (deadline_ns is None or raised <= deadline_ns)
    if raised is None:
        why = "never raised"
    return _outcome(raised, reference, reference_ns, deadline_ns, passed, "" if passed else why)


def _outcome(
    raised: int | None, reference: str, reference_ns: int | None, deadline_ns: int | None, passed: bool, why: str
) -> dict[str, object]:
    delay = None if raised is None or reference_ns is None else round((raised - reference_ns) / NS, 3)
    return {
        "raised_ns": raised,
        "reference": reference,
        "reference_ns": reference_ns,
        "deadline_ns": deadline_ns,
        "delay_s": delay,
        "passed": passed,
        "why": why,
    }


def _calibration_windows(rendering: Rendering) -> dict[str, list[tuple[int, int]]]:
    """Per sensor, the spans flagged CALIBRATION (plus the T90 recovery after the flag clears)."""
    out: dict[str, list[tuple[int, int]]] = {}
    flagged = rendering.readings.quality == Quality.CALIBRATION
    for i, sensor in enumerate(rendering.sensors):
        rows = np.flatnonzero(flagged[:, i])
        if len(rows):
            out[sensor] = [(int(rendering.time_ns[rows[0]]), int(rendering.time_ns[rows[-1]]) + 60 * NS)]
    return out
