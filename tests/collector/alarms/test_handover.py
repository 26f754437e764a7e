"""A worker that takes sensors over on a change of partitions carries on as their old owner would have: the alarms
it adopts stay as they were, the detector windows it rebuilds from the stored readings raise what the old owner's
would have raised, with the same ids, and nothing of the replayed history is announced again."""

from __future__ import annotations

import numpy as np
import pytest

from collector.alarms.handover import TakeOverReplay
from collector.alarms.restart import restart_windows
from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.alarms.restart import RestartCheck
from hazwatch.config import SensorRegistry
from hazwatch.events import Transition
from tests.support.detectors import SECOND, T0, ammonia_leak_round

ROUND_S = 2
HANDOVER_AT_S = 8 * 60
END_S = 20 * 60


@pytest.fixture(scope="module")
def scenario(plant_config):
    registry = SensorRegistry.from_config(plant_config)
    rng = np.random.default_rng(7)
    return registry, [ammonia_leak_round(registry, t_s, rng) for t_s in range(0, END_S, ROUND_S)]


@pytest.fixture(scope="module")
def uninterrupted(plant_config, scenario) -> list:
    """The events of one owner that held the sensors throughout."""
    registry, batches = scenario
    _lifecycle, throughout = _stack(plant_config, registry)
    return _run(throughout, batches)


def _stack(plant_config, registry):
    lifecycle = AlarmLifecycle()
    return lifecycle, build_detector_stack(registry, plant_config, lifecycle)


def _run(detector, batches) -> list:
    events = []
    for batch in batches:
        events += detector.update(batch)
        events += detector.tick(int(batch.time_ns.max()) + SECOND)
    return events


def _split(batches):
    at = HANDOVER_AT_S // ROUND_S
    return batches[:at], batches[at:]


def _stored_state(events) -> list[dict]:
    """What the new owner reads back from the alarm events in InfluxDB: each alarm's state after its last event."""
    last = {}
    for event in events:
        if event.resume is not None:
            last[(event.slot, event.rule)] = {**event.resume, "slot": event.slot}
    return list(last.values())


def _handed_over(plant_config, scenario, *, replay: bool, adopt: bool = True):
    """The old owner runs until the change of partitions; the new one adopts its alarms, replays (or not) the stored
    readings of the last `partitioning.takeover_replay_s` (15 minutes), and runs on behind the restart check, as
    `hazwatch run` builds it."""
    registry, batches = scenario
    before, after = _split(batches)
    _old_lifecycle, old = _stack(plant_config, registry)
    announced = _run(old, before)
    lifecycle, stack = _stack(plant_config, registry)
    if adopt:
        lifecycle.adopt(_stored_state(announced))
    detector = RestartCheck(stack, lifecycle, restart_windows(registry))  # built before the warm-up, as in a worker
    at_handover = T0 + HANDOVER_AT_S * SECOND
    replayed = []
    if replay:
        taken_over = TakeOverReplay(stack)
        for batch in before:
            if batch.time_ns.min() > at_handover - plant_config.partitioning.takeover_replay_s * SECOND:
                taken_over.update(batch)
        replayed = taken_over.finish(at_handover)
    return replayed, _run(detector, after)


def _after_handover(events) -> list[str]:
    return [e.event_id for e in events if e.time_ns >= T0 + HANDOVER_AT_S * SECOND]


def test_the_new_owner_raises_exactly_the_events_of_an_owner_that_never_changed(
    plant_config, scenario, uninterrupted
) -> None:
    registry, _ = scenario
    leak = registry.slot("hengda-chem", "LD-NH3-1")
    exposure = [e for e in uninterrupted if e.slot == leak and e.rule.startswith("exposure")]
    assert any(e.time_ns > T0 + HANDOVER_AT_S * SECOND for e in exposure), (
        "the scenario needs an exposure alarm after the hand-over, from a window that began before it"
    )

    replayed, after = _handed_over(plant_config, scenario, replay=True)

    assert replayed == [], "the adopted alarms already stand at the replayed levels: nothing to announce again"
    assert _after_handover(after) == _after_handover(uninterrupted)


def test_without_the_replay_the_exposure_window_starts_empty_and_its_alarm_comes_late(
    plant_config, scenario, uninterrupted
) -> None:
    registry, _ = scenario
    leak = registry.slot("hengda-chem", "LD-NH3-1")
    stel = {e.event_id for e in uninterrupted if e.slot == leak and e.rule.startswith("exposure")}

    _, after = _handed_over(plant_config, scenario, replay=False)

    assert stel - {e.event_id for e in after}, "a fresh stack should have missed the STEL built before the hand-over"


def test_a_condition_standing_in_the_replay_with_no_adopted_alarm_is_raised_at_once(plant_config, scenario) -> None:
    registry, _ = scenario
    leak = registry.slot("hengda-chem", "LD-NH3-1")

    replayed, _ = _handed_over(plant_config, scenario, replay=True, adopt=False)

    raised = [e for e in replayed if e.slot == leak and e.transition is Transition.RAISE]
    assert raised and all(e.time_ns == T0 + HANDOVER_AT_S * SECOND for e in raised)
