"""A worker restored from its detector snapshot carries on as if it had never stopped: same events, same ids,
windows (STEL, rate of rise, on-delays) continuing instead of starting empty."""

from __future__ import annotations

import numpy as np
import pytest

from collector.pipeline.detection import build_detector_stack
from collector.pipeline.snapshot import DetectorSnapshots, fingerprint
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config import SensorRegistry
from tests.support.detectors import SECOND, T0, ammonia_leak_round

ROUND_S = 2
RESTART_AT_S = 8 * 60
END_S = 20 * 60


def _run(stack, registry, start_s: int, end_s: int) -> list:
    rng = np.random.default_rng(start_s)
    events = []
    for t_s in range(start_s, end_s, ROUND_S):
        events += stack.update(ammonia_leak_round(registry, t_s, rng))
        events += stack.tick(T0 + t_s * SECOND + SECOND)
    return events


def _fresh(plant_config):
    registry = SensorRegistry.from_config(plant_config)
    lifecycle = AlarmLifecycle()
    return registry, lifecycle, build_detector_stack(registry, plant_config, lifecycle)


@pytest.fixture
def uninterrupted(plant_config):
    registry, _lifecycle, stack = _fresh(plant_config)
    return _run(stack, registry, 0, RESTART_AT_S) + _run(stack, registry, RESTART_AT_S, END_S)


def _restarted(plant_config, tmp_path, with_snapshot: bool) -> list:
    registry, lifecycle, stack = _fresh(plant_config)
    before = _run(stack, registry, 0, RESTART_AT_S)
    snapshots = DetectorSnapshots(tmp_path, registry, fingerprint("plant"))
    snapshots.write(snapshots.dumps(stack))
    alarm_state = lifecycle.snapshot()
    # the process dies here; a new one builds everything from the config again
    registry, lifecycle, stack = _fresh(plant_config)
    lifecycle.restore(alarm_state)
    if with_snapshot:
        restored = DetectorSnapshots(tmp_path, registry, fingerprint("plant")).restore(stack)
        assert restored is not None
        stack = restored.stack
    return before + _run(stack, registry, RESTART_AT_S, END_S)


def _leak_exposure_after_restart(plant_config, events: list) -> set[str]:
    leak = SensorRegistry.from_config(plant_config).slot("hengda-chem", "LD-NH3-1")
    return {
        e.event_id
        for e in events
        if e.slot == leak and e.rule.startswith("exposure") and e.time_ns > T0 + RESTART_AT_S * SECOND
    }


def test_a_restored_stack_raises_exactly_the_events_of_one_that_never_stopped(plant_config, tmp_path, uninterrupted):
    assert _leak_exposure_after_restart(plant_config, uninterrupted), (
        "the scenario needs an exposure alarm after the restart, from a window that began before it"
    )
    assert [e.event_id for e in _restarted(plant_config, tmp_path, True)] == [e.event_id for e in uninterrupted]


def test_without_the_snapshot_the_exposure_window_would_start_empty_and_its_alarm_come_late(
    plant_config, tmp_path, uninterrupted
) -> None:
    """What the snapshot is for: a fresh stack after the restart misses the 15-minute average built before it."""
    stel = _leak_exposure_after_restart(plant_config, uninterrupted)
    assert stel and not stel & {e.event_id for e in _restarted(plant_config, tmp_path, False)}


def test_a_snapshot_of_another_config_is_refused_and_the_stack_starts_fresh(plant_config, tmp_path) -> None:
    registry, _lifecycle, stack = _fresh(plant_config)
    DetectorSnapshots(tmp_path, registry, fingerprint("plant", "v1")).write(
        DetectorSnapshots(tmp_path, registry, fingerprint("plant", "v1")).dumps(stack)
    )
    assert DetectorSnapshots(tmp_path, registry, fingerprint("plant", "v2")).restore(stack) is None


def test_a_damaged_snapshot_never_stops_the_worker_from_starting(plant_config, tmp_path) -> None:
    registry, _lifecycle, stack = _fresh(plant_config)
    snapshots = DetectorSnapshots(tmp_path, registry, fingerprint("plant"))
    snapshots.write(snapshots.dumps(stack)[:200])
    assert snapshots.restore(stack) is None
