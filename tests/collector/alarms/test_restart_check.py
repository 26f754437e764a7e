"""Restored alarms against the first readings after a restart, with the real detector stack of the example mine.

LW-TEMP-T1 raises `alarm` (level 2) at 30 °C after 10 s and `warning` (level 1) at 26 °C after 60 s: its
restored alarm may be declared gone only after 60 s of readings that raised nothing, never earlier.
"""

from __future__ import annotations

import numpy as np
import pytest

from collector.alarms.restart import restart_windows
from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.alarms.restart import RestartCheck
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorRegistry, load_config
from hazwatch.config.examples import MINE_EXAMPLE
from hazwatch.events import AlarmEvent

SITE, SENSOR, RULE = "xinyuan-mine", "LW-TEMP-T1", "threshold.high"
S = 1_000_000_000


@pytest.fixture(scope="module")
def config() -> HazwatchConfig:
    return load_config(MINE_EXAMPLE)


@pytest.fixture(scope="module")
def registry(config: HazwatchConfig) -> SensorRegistry:
    return SensorRegistry.from_config(config)


def _feed(detector, registry: SensorRegistry, seconds: range, value: float) -> list[AlarmEvent]:
    slot = registry.slot(SITE, SENSOR)
    events: list[AlarmEvent] = []
    for t in seconds:
        events += detector.update(ReadingBatch.from_columns([slot], [t * S], [value], 0))
    return events


def _restarted(config: HazwatchConfig, registry: SensorRegistry) -> tuple[RestartCheck, AlarmLifecycle]:
    """Raise the level-2 alarm, then restore its lifecycle into a fresh stack, as `hazwatch run` does."""
    before = AlarmLifecycle()
    raised = _feed(build_detector_stack(registry, config, before), registry, range(0, 12), 31.0)
    assert [(e.transition.value, e.level) for e in raised] == [("raise", 2)]
    lifecycle = AlarmLifecycle()
    lifecycle.restore(before.snapshot())
    stack = build_detector_stack(registry, config, lifecycle)
    return RestartCheck(stack, lifecycle, restart_windows(registry)), lifecycle


def _face(lifecycle: AlarmLifecycle, registry: SensorRegistry):
    return lifecycle.status(registry.slot(SITE, SENSOR), RULE)


def test_a_restored_alarm_still_over_its_limit_is_confirmed_without_a_clear_or_a_new_raise(config, registry) -> None:
    check, lifecycle = _restarted(config, registry)
    events = _feed(check, registry, range(100, 175), 31.0)
    assert events == [], "the condition never went away: nothing to tell anyone"
    assert check.waiting == 0, "the detectors confirmed it themselves"
    status = _face(lifecycle, registry)
    assert status.level == 2 and not status.acknowledged


def test_a_restored_alarm_is_cleared_only_after_its_longest_on_delay_of_quiet_readings(config, registry) -> None:
    check, lifecycle = _restarted(config, registry)
    early = _feed(check, registry, range(100, 159), 20.0)
    assert early == [], "59 s of low readings cannot yet prove the 60-s warning would not have come"
    late = _feed(check, registry, range(159, 162), 20.0)
    assert [(e.transition.value, e.level) for e in late] == [("clear", 0)]
    assert late[0].time_ns == 160 * S
    assert _face(lifecycle, registry).state.value == "rtn_unacknowledged"


def test_a_restored_alarm_between_its_levels_steps_down_when_the_detectors_say_so(config, registry) -> None:
    check, _ = _restarted(config, registry)
    events = _feed(check, registry, range(100, 170), 27.0)
    assert [(e.transition.value, e.level) for e in events] == [("deescalate", 1)]
    assert events[0].time_ns == 160 * S, "the warning's 60-s on-delay, measured from the first reading"
    assert check.waiting == 0


def test_a_sensor_that_sends_nothing_after_the_restart_keeps_its_restored_alarm(config, registry) -> None:
    check, lifecycle = _restarted(config, registry)
    other = registry.slot(SITE, "LW-CH4-T1")
    for t in range(100, 200):
        assert check.update(ReadingBatch.from_columns([other], [t * S], [0.3], 0)) == []
    assert _face(lifecycle, registry).level == 2 and check.waiting == 1
    assert np.isfinite(_face(lifecycle, registry).value)
