"""The intake check and health.clock: a reading stamped outside the time window is refused and counted,
never a sensor's newest reading, and a device that keeps sending them raises a health alarm."""

from __future__ import annotations

import numpy as np

from collector.pipeline.detection import build_detector_stack
from collector.pipeline.intake import IntakeCheck
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.intake import IntakeSettings
from hazwatch.quality import Quality
from tests.support.waiting import metric

S = 1_000_000_000
NOW = 1_800_000_000 * S
CONFIG = load_config(EXAMPLES / "coal-mine.yaml")
REGISTRY = SensorRegistry.from_config(CONFIG)
FACE = REGISTRY.slot("xinyuan-mine", "LW-CH4-T1")
OTHER = REGISTRY.slot("xinyuan-mine", "LW-CH4-T0")
CHECK = IntakeCheck(IntakeSettings(max_future_s=30, max_past_s=3600))


def test_rows_outside_the_window_are_refused_and_counted_per_reason_the_rest_pass_untouched() -> None:
    batch = ReadingBatch.from_columns(
        [FACE, FACE, OTHER, OTHER, FACE],
        [NOW, NOW + 31 * S, NOW - 3601 * S, NOW + 29 * S, NOW - 3599 * S],
        [0.5, 7.0, 0.4, 0.6, 0.3],
    )
    before = {r: metric("hazwatch_readings_refused_total", reason=r) for r in ("future_time", "past_time")}
    screened = CHECK.screen(batch, NOW)
    assert screened.accepted.value.tolist() == [0.5, 0.6, 0.3]
    assert sorted(screened.clock_refused.tolist()) == sorted([FACE, OTHER])
    assert metric("hazwatch_readings_refused_total", reason="future_time") - before["future_time"] == 1
    assert metric("hazwatch_readings_refused_total", reason="past_time") - before["past_time"] == 1


def test_a_good_reading_that_is_not_a_number_is_refused_a_flagged_nan_is_kept() -> None:
    batch = ReadingBatch.from_columns(
        [FACE, FACE, OTHER], NOW, [np.nan, np.inf, np.nan], [Quality.GOOD, Quality.GOOD, Quality.OFFLINE]
    )
    screened = CHECK.screen(batch, NOW)
    assert screened.accepted.slot.tolist() == [OTHER]
    assert screened.accepted.quality.tolist() == [Quality.OFFLINE]


def test_an_all_good_batch_is_handed_on_as_it_is() -> None:
    batch = ReadingBatch.from_columns([FACE, OTHER], NOW, [0.5, 0.4])
    assert CHECK.screen(batch, NOW).accepted is batch


def _stack():
    return build_detector_stack(REGISTRY, CONFIG, AlarmLifecycle())


def test_three_refused_readings_raise_health_clock_and_three_good_ones_clear_it() -> None:
    stack = _stack()
    stack.update(ReadingBatch.from_columns([FACE], NOW, [0.3]))
    assert stack.refused(np.array([FACE, FACE]), NOW + S) == []
    raised = stack.refused(np.array([FACE]), NOW + 2 * S)
    assert [(e.rule, e.level, e.slot) for e in raised] == [("health.clock", 1, FACE)]
    events = []
    for i in range(3):
        events += stack.update(ReadingBatch.from_columns([FACE], NOW + (3 + i) * S, [0.3]))
    cleared = [e for e in events if e.rule == "health.clock"]
    assert [(e.level, e.time_ns) for e in cleared] == [(0, NOW + 5 * S)]


def test_a_good_reading_between_refused_ones_restarts_the_count() -> None:
    stack = _stack()
    events = []
    for i in range(4):
        events += stack.refused(np.array([FACE, FACE]), NOW + i * S)
        events += stack.update(ReadingBatch.from_columns([FACE], NOW + i * S, [0.3]))
    assert not [e for e in events if e.rule == "health.clock"]


def test_over_limit_readings_after_a_refused_future_one_still_raise_the_alarm() -> None:
    """The detectors' own late-reading check never sees a refused row, so later true readings are not late."""
    stack = _stack()
    future = ReadingBatch.from_columns([FACE], NOW + 100 * 365 * 86400 * S, [0.2])
    screened = CHECK.screen(future, NOW)
    assert len(screened.accepted) == 0
    stack.update(screened.accepted)
    stack.refused(screened.clock_refused, NOW)
    events = stack.update(ReadingBatch.from_columns([FACE] * 3, [NOW + S, NOW + 2 * S, NOW + 3 * S], [2.0] * 3))
    assert max(e.level for e in events if e.slot == FACE and e.rule.startswith("threshold")) == 2


def test_a_good_value_no_sensor_could_read_is_refused_before_it_overflows_the_detectors() -> None:
    """Found by the fuzzer: 1e308 %LEL overflowed the trend rule's running sums into inf."""
    batch = ReadingBatch.from_columns([FACE, FACE, OTHER], NOW, [1e308, -1e13, 1e308], [0, 0, Quality.FAULT])
    before = metric("hazwatch_readings_refused_total", reason="implausible")
    screened = CHECK.screen(batch, NOW)
    assert screened.accepted.slot.tolist() == [OTHER]
    assert metric("hazwatch_readings_refused_total", reason="implausible") - before == 2


def test_values_a_source_refused_raise_health_bad_value_not_health_clock() -> None:
    stack = _stack()
    events = []
    for i in range(3):
        events += stack.refused(np.array([FACE]), NOW + i * S, "value")
    assert [(e.rule, e.level, e.slot) for e in events] == [("health.bad_value", 1, FACE)]
    assert "not readings" in events[0].message
