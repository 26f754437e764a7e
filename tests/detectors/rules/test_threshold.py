"""Threshold rule: levels, the methane power-cut path, deadband, delays and latching."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.engine.setup import Setup
from detectors.rules.threshold import HIGH, LOW, LevelSpec, LevelTable, ThresholdDetector, threshold_detector
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.limits import level_reached
from hazwatch.events import Transition
from tests.support.detectors import SECOND, T0, of_rule

FACE = [
    LevelSpec(level=1, name="alarm", value=1.0, reset=1.0, priority="high"),
    LevelSpec(level=2, name="power_cut", value=1.5, reset=1.0, latch=True, priority="critical", action="power_cut"),
]


def detector(
    high: list[LevelSpec], low: list[LevelSpec] | None = None, hold_latched: bool = False
) -> ThresholdDetector:
    return ThresholdDetector(LevelTable([high]), LevelTable([low or []]), ["CH4 at T1"], ["%"], hold_latched)


def feed(d: ThresholdDetector, values: list[float], period_s: float = 1.0, start_s: float = 0.0) -> list:
    times = T0 + ((start_s + np.arange(len(values)) * period_s) * SECOND).astype(np.int64)
    return d.update(ReadingBatch.from_columns(np.zeros(len(values), dtype=np.int32), times, values))


def test_methane_power_cut_comes_from_the_first_over_limit_reading_alone() -> None:
    d = detector(FACE)
    assert feed(d, [0.4]) == []
    (change,) = feed(d, [1.62], start_s=1)
    assert (change.rule, change.level, change.level_name) == (HIGH, 2, "power_cut")
    assert change.time_ns == T0 + SECOND
    assert change.latch and change.extra["action"] == "power_cut"


def test_face_methane_rising_through_both_levels_and_back(mine) -> None:
    """Through the real stack and lifecycle: raise, escalate to power-cut in the same call, then clear."""
    slot = mine.slot("LW-CH4-T1")
    seen = []
    for i, ch4 in enumerate([0.4, 0.8, 1.05, 1.2, 1.52, 1.3, 0.95, 0.6]):
        events = of_rule(mine.cycle(2 * i, {"LW-CH4-T1": ch4}), HIGH, slot)
        if ch4 == 1.52:
            assert [e.transition for e in events] == [Transition.ESCALATE]
            assert events[0].level_name == "power_cut"
        seen += [(e.transition, e.level) for e in events]
    assert seen == [(Transition.RAISE, 1), (Transition.ESCALATE, 2), (Transition.CLEAR, 2)]
    status = mine.lifecycle.status(slot, HIGH)
    assert status is not None and status.latched, "the power-cut stays latched after the gas clears"


def test_deadband_keeps_a_noisy_reading_at_the_limit_from_chattering() -> None:
    rng = np.random.default_rng(3)
    readings = list(1.0 + rng.normal(0, 0.03, 600))
    chattering = feed(detector([LevelSpec(1, "alarm", 1.0, reset=1.0)]), readings)
    banded = feed(detector([LevelSpec(1, "alarm", 1.0, reset=0.85)]), readings)
    assert len(chattering) > 100
    assert [c.level for c in banded] == [1], "one raise; the reading never falls below the reset"


def test_on_delay_ignores_short_excursions_and_raises_a_sustained_one() -> None:
    d = detector([LevelSpec(1, "high", 85.0, reset=84.0, on_delay_s=10)])
    short = [80.0] * 5 + [86.0] * 9 + [80.0] * 5
    assert feed(d, short) == []
    changes = feed(d, [86.0] * 15, start_s=30)
    assert [(c.level, c.time_ns) for c in changes] == [(1, T0 + 40 * SECOND)]


def test_on_delay_runs_out_on_a_tick_without_new_readings() -> None:
    d = detector([LevelSpec(1, "high", 85.0, reset=84.0, on_delay_s=10)])
    feed(d, [86.0])
    assert d.tick(T0 + 5 * SECOND) == []
    assert [c.level for c in d.tick(T0 + 10 * SECOND)] == [1]


def test_off_delay_holds_the_alarm_through_a_short_dip() -> None:
    d = detector([LevelSpec(1, "high", 85.0, reset=84.0, off_delay_s=10)])
    changes = feed(d, [86.0] * 3 + [83.0] * 5 + [86.0] * 3 + [83.0] * 12)
    assert [(c.level, (c.time_ns - T0) // SECOND) for c in changes] == [(1, 0), (0, 21)]


def test_low_limits_mirror_high_ones() -> None:
    d = detector([], [LevelSpec(1, "low_oxygen", 18.5, reset=19.0)])
    changes = feed(d, [20.9, 18.4, 18.8, 19.2])
    assert [(c.rule, c.level) for c in changes] == [(LOW, 1), (LOW, 0)]


def test_a_latched_level_held_by_the_detector_stays_until_reset() -> None:
    d = detector(FACE, hold_latched=True)
    feed(d, [1.6, 1.2, 0.5, 0.4])
    assert d.sides[0].level[0] == 2
    assert [c.level for c in d.reset(0, T0 + 10 * SECOND)] == [0]


def test_reset_while_the_gas_is_still_high_keeps_the_latch() -> None:
    d = detector(FACE, hold_latched=True)
    feed(d, [1.6, 1.55])
    assert d.reset(0, T0 + 10 * SECOND) == []
    assert d.sides[0].level[0] == 2


def test_a_latched_power_cut_survives_until_the_operator_resets_it(mine) -> None:
    slot = mine.slot("LW-CH4-T1")
    for i, ch4 in enumerate([1.6, 0.9, 0.5]):
        mine.cycle(i, {"LW-CH4-T1": ch4})
    for i in range(3, 30):
        mine.cycle(i, {"LW-CH4-T1": 0.4})
    assert mine.lifecycle.status(slot, HIGH).latched
    (reset,) = mine.lifecycle.reset(slot, HIGH, "shift-boss", T0 + 31 * SECOND)
    assert reset.transition is Transition.RESET
    assert mine.lifecycle.status(slot, HIGH) is None


@pytest.mark.parametrize("steps", [1, 7])
def test_levels_skip_straight_up_and_come_down_in_steps(steps: int) -> None:
    d = detector([LevelSpec(1, "level1", 25.0, reset=23.0), LevelSpec(2, "level2", 50.0, reset=48.0)])
    values = [5.0] * steps + [60.0] * steps + [30.0] * steps + [5.0] * steps
    assert [c.level for c in feed(d, values)] == [2, 1, 0]


def test_the_power_cut_holds_until_methane_is_below_the_restore_value() -> None:
    """Art. 498: cut at 1.5 %, restore below 1.0 % — 1.2 % keeps the cut."""
    assert [c.level for c in feed(detector(FACE), [0.2, 2.0, 1.2, 1.01, 0.99])] == [2, 0]


def test_a_first_reading_raises_exactly_the_level_the_views_and_the_checker_judge() -> None:
    """One judgement: on every example sensor without delays, the rule's level on a first reading is
    hazwatch.config.limits.level_reached (what the status view, the report and the scenario checker use)."""
    for name in ("coal-mine.yaml", "chemical-plant.yaml"):
        config = load_config(EXAMPLES / name)
        registry = SensorRegistry.from_config(config)
        rng = np.random.default_rng(3)
        for _ in range(5):
            values = registry.range_min + rng.uniform(-0.05, 1.05, len(registry)) * (
                registry.range_max - registry.range_min
            )
            rule = threshold_detector(Setup(registry, config))
            changes = rule.update(ReadingBatch.from_columns(np.arange(len(registry)), T0, values))
            raised = np.zeros(len(registry), dtype=int)
            for change in changes:
                raised[change.slot] = max(raised[change.slot], change.level)
            assert raised.any() and (raised == 0).any()
            for info in registry:
                if any(lv.on_delay for lv in (*info.limits.high, *info.limits.low)):
                    continue
                assert raised[info.slot] == level_reached(info.limits, float(values[info.slot])), info.sensor
